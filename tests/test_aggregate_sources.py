"""Every map's cropland areas per unit (CropLayer table): exact areas and flags worked by hand."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely

from agrifactory.aggregate import rules, sources
from agrifactory.aggregate.classes import TOTAL_ADCODE
from agrifactory.aggregate.compare import read_official
from agrifactory.aggregate.rules import CompareSettings
from agrifactory.errors import DataError, GridError, InputError
from agrifactory.grid import ALBERS, Tile
from agrifactory.io.raster import write_grid_raster

TILE = Tile(0, 0, 6)  # 200 x 200 pixels of 30 m (0.09 ha each)
WEST, EAST = "110000", "120000"
# Cropland pixels of each map in the west and east halves (100 columns x 200 rows =
# 20,000 pixels each), and the east half's nodata pixels.
MAPS = {
    "factory": {"west": 10_500, "east": 4_000, "nodata": 0},
    "clcd": {"west": 13_000, "east": 5_200, "nodata": 6_000},
    "integrated": {"west": 11_000, "east": 5_400, "nodata": 0},
}
SETTINGS = CompareSettings(unit="ha")


def _units():
    """The tile split at its middle pixel edge (x0 + 3 km): no pixel is shared."""
    x0, y0, x1, y1 = TILE.bounds
    cut = x0 + 3000.0
    return gpd.GeoDataFrame(
        {
            "adcode": [WEST, EAST],
            "name": ["West", "East"],
            "province_adcode": [WEST, EAST],
        },
        geometry=[shapely.box(x0, y0, cut, y1), shapely.box(cut, y0, x1, y1)],
        crs=ALBERS,
    )


def _band(west, east, nodata):
    arr = np.zeros((200, 200), np.uint8)
    w, e = arr[:, :100].copy(), arr[:, 100:].copy()
    w.ravel()[:west] = 1
    e.ravel()[:east] = 1
    if nodata:
        e.ravel()[-nodata:] = 255
    return np.hstack([w, e])


def _maps(path, grid=None):
    data = np.stack([_band(**counts) for counts in MAPS.values()])
    return write_grid_raster(path, data, grid or TILE.grid(), nodata=255, band_names=list(MAPS))


def _official(tmp_path):
    """West 1,000 ha, east 500 ha, national 1,500 ha."""
    path = tmp_path / "stats.csv"
    path.write_text(
        "adcode,name,cropland_ha,reference_date,source\n"
        f"{WEST},West,1000,2021-12-31,s\n{EAST},East,500,2021-12-31,s\n"
        f"{TOTAL_ADCODE},all,1500,2021-12-31,s\n",
        encoding="utf-8",
    )
    return path


def _area(t, source, adcode, cls):
    sel = t[(t.source == source) & (t.adcode == adcode) & (t["class"] == cls)]
    return float(sel["area_ha"].sum())


def test_tile_areas_of_every_map(tmp_path):
    t = sources.tile_source_areas(
        _maps(tmp_path / "maps.tif"), TILE, {"province": _units()}, "fraction"
    )
    assert list(t.columns) == sources.SOURCE_PARTIAL_COLUMNS
    assert list(pd.unique(t["source"])) == list(MAPS)  # band order
    assert set(t["product"]) == {"cropland"}
    for source, c in MAPS.items():
        assert _area(t, source, WEST, "cropland") == pytest.approx(c["west"] * 0.09)
        assert _area(t, source, EAST, "cropland") == pytest.approx(c["east"] * 0.09)
        assert _area(t, source, EAST, "nodata") == pytest.approx(c["nodata"] * 0.09)
        other_east = 20_000 - c["east"] - c["nodata"]
        assert _area(t, source, EAST, "other") == pytest.approx(other_east * 0.09)
        total = _area(t, source, TOTAL_ADCODE, "cropland")
        assert total == pytest.approx((c["west"] + c["east"]) * 0.09)
    # clcd east: 5,200 cropland + 8,800 other + 6,000 nodata pixels = 468 + 792 + 540 ha.
    assert _area(t, "clcd", EAST, "other") == pytest.approx(792.0)


def test_comparison_flags_and_summary_by_hand(tmp_path):
    units = _units()
    partial = sources.tile_source_areas(
        _maps(tmp_path / "maps.tif"), TILE, {"province": units}, "centre"
    )
    path = tmp_path / "part.csv"
    partial.to_csv(path, index=False)
    official = read_official(_official(tmp_path), units, quantity="cropland")
    table, summary = sources.source_comparison([path], units, official, "province", SETTINGS)
    assert list(table.columns) == [
        "level", "adcode", "name", "status", "official_ha",
        "factory_ha", "factory_diff_pct", "factory_within",
        "clcd_ha", "clcd_diff_pct", "clcd_within",
        "integrated_ha", "integrated_diff_pct", "integrated_within",
    ]  # fmt: skip
    assert table["adcode"].tolist() == [WEST, EAST, TOTAL_ADCODE]
    by = table.set_index("adcode")
    # factory: west 945 ha vs 1,000 (-5.5 %: within), east 360 vs 500 (-28 %: not).
    assert by.loc[WEST, "factory_ha"] == pytest.approx(945.0)
    assert by.loc[WEST, "factory_diff_pct"] == pytest.approx(-5.5)
    assert by.loc[WEST, "factory_within"]
    assert by.loc[EAST, "factory_diff_pct"] == pytest.approx(-28.0)
    assert not by.loc[EAST, "factory_within"]
    # clcd: west 1,170 (+17 %: not); east 70 % mapped (< 80 %): partly mapped, not judged.
    assert by.loc[WEST, "clcd_diff_pct"] == pytest.approx(17.0)
    assert not by.loc[WEST, "clcd_within"]
    assert by.loc[EAST, "clcd_ha"] == pytest.approx(468.0)
    assert pd.isna(by.loc[EAST, "clcd_within"])
    assert by.loc[EAST, "status"] == "compared: factory, integrated; partly mapped: clcd"
    assert by.loc[WEST, "status"] == "compared"
    # integrated: 990 (-1 %) and 486 (-2.8 %): both within.
    assert by.loc[WEST, "integrated_within"] and by.loc[EAST, "integrated_within"]
    assert by.loc[EAST, "integrated_diff_pct"] == pytest.approx(-2.8)
    # National row: 1,305 / 1,638 / 1,476 ha against 1,500.
    assert by.loc[TOTAL_ADCODE, "status"] == "national total"
    assert by.loc[TOTAL_ADCODE, "clcd_ha"] == pytest.approx(1638.0)
    assert not by.loc[TOTAL_ADCODE, "factory_within"]  # -13 %

    s = summary.set_index("source")
    assert s.index.tolist() == list(MAPS)
    assert s["n_compared"].tolist() == [2, 1, 2]
    assert s["n_within_10pct"].tolist() == [1, 0, 2]
    assert s["share_within_10pct"].tolist() == [0.5, 0.0, 1.0]
    assert s["n_partly_mapped"].tolist() == [0, 1, 0]
    assert s["mapped_compared_ha"].to_numpy() == pytest.approx([1305.0, 1170.0, 1476.0])
    assert s["official_compared_ha"].to_numpy() == pytest.approx([1500.0, 1000.0, 1500.0])
    assert s["compared_relative_difference_pct"].to_numpy() == pytest.approx([-13.0, 17.0, -1.6])


def test_rule_writes_tables_and_pages(tmp_path):
    units = _units()
    gpkg = tmp_path / "provinces.gpkg"
    units.to_file(gpkg)
    partial = sources.tile_source_areas(
        _maps(tmp_path / "maps.tif"), TILE, {"province": units}, "fraction"
    )
    partial_path = tmp_path / "part.csv"
    partial.to_csv(partial_path, index=False)
    outputs = rules.sources_outputs(str(tmp_path / "out"), ["province"])
    assert sorted(outputs) == [
        "province_sources",
        "province_sources_html",
        "province_sources_summary",
        "province_sources_summary_html",
    ]
    assert outputs["province_sources"].endswith("out/province_sources.csv")
    files = {k.removeprefix("province_"): v for k, v in outputs.items()}
    rules.sources_level([partial_path], gpkg, _official(tmp_path), "province", files, SETTINGS)
    written = pd.read_csv(files["sources"], dtype={"adcode": str})
    assert written["factory_within"].tolist()[:2] == [True, False]
    page = open(files["sources_html"], encoding="utf-8").read()
    # Each map's within flag shades its own cells (west, east, national):
    # factory yes/no/no (-13 %), clcd no/-/yes (+9.2 %), integrated yes/yes/yes (-1.6 %).
    assert page.count('class="flag yes"') == 5
    assert page.count('class="flag no"') == 3
    assert "±10%" in page and "the integrated map" in page
    summary_page = open(files["sources_summary_html"], encoding="utf-8").read()
    assert "clcd" in summary_page


def test_maps_off_the_tile_grid_are_refused(tmp_path):
    path = _maps(tmp_path / "maps.tif", grid=Tile(1, 0, 6).grid())
    with pytest.raises(GridError, match="maps.tif"):
        sources.tile_source_areas(path, TILE, {"province": _units()}, "fraction")


def test_unnamed_bands_and_bad_codes_are_refused(tmp_path):
    data = np.zeros((2, 200, 200), np.uint8)
    path = write_grid_raster(tmp_path / "maps.tif", data, TILE.grid(), nodata=255)
    with pytest.raises(InputError, match="band descriptions"):
        sources.read_maps(path, TILE)
    data[1, 0, 0] = 7
    path = write_grid_raster(
        tmp_path / "bad.tif", data, TILE.grid(), nodata=255, band_names=["factory", "gfsad"]
    )
    with pytest.raises(DataError, match=r"bad.tif band 2 \(gfsad\): codes \{7: 1\}"):
        sources.read_maps(path, TILE)
