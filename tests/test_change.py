"""Year-to-year change: pair codes, transitions per unit, block flags, worked by hand."""

from __future__ import annotations

from types import SimpleNamespace

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import rasterio
import shapely
from _jobs import fake_job
from snakemake.iocontainers import Namedlist

from agrifactory import boundaries
from agrifactory.aggregate import sums, zonal
from agrifactory.change import flags, rules, transitions
from agrifactory.change.rules import ChangeSettings
from agrifactory.errors import ConfigError, DataError
from agrifactory.grid import ALBERS, PixelGrid, Tile
from agrifactory.integration.blocks import BlockLattice
from agrifactory.io.raster import write_grid_raster, write_raster

ND = 255
# Crop types of a 4 x 4 patch in two years (0 not cropland, 255 nodata).
PREVIOUS = np.array(
    [[1, 1, 6, 6], [1, 1, 6, 6], [0, 0, ND, 7], [0, 2, 3, ND]],
    dtype=np.uint8,
)
CURRENT = np.array(
    [[1, 6, 6, 6], [1, 1, 5, 6], [0, 1, ND, ND], [ND, 2, 3, 7]],
    dtype=np.uint8,
)
# Worked by hand, (from, to) or the nodata case -> pixels, in the west half (columns 0-1)
# and the east half (columns 2-3).
WEST = {(1, 1): 3, (1, 6): 1, (0, 0): 1, (0, 1): 1, (2, 2): 1, "nodata_current": 1}
EAST = {
    (6, 6): 3,
    (6, 5): 1,
    (3, 3): 1,
    "nodata_both": 1,
    "nodata_current": 1,
    "nodata_previous": 1,
}
TILE = Tile(0, 0, 6)  # 200 x 200 pixels of 30 m; 4 x 4 blocks of 1500 m (50 px)


def _halves(bounds, codes=("110000", "120000")):
    """Two units: the west and east halves of ``bounds``."""
    x0, y0, x1, y1 = bounds
    cut = (x0 + x1) / 2
    return gpd.GeoDataFrame(
        {"adcode": list(codes), "name": ["West", "East"], "province_adcode": list(codes)},
        geometry=[shapely.box(x0, y0, cut, y1), shapely.box(cut, y0, x1, y1)],
        crs=ALBERS,
    )


def _key(code):
    if code in transitions.NODATA_CODES:
        return transitions.NODATA_CODES[code]
    return transitions.split_code(code)


def test_pair_codes_of_the_hand_patch():
    codes = transitions.pair_codes(PREVIOUS, CURRENT, "croptype")
    assert codes.dtype == np.uint8
    assert codes[0, 1] == 1 * 16 + 6
    assert codes[1, 2] == 6 * 16 + 5
    assert codes[2, 2] == transitions.NODATA_BOTH
    assert codes[2, 3] == codes[3, 0] == transitions.NODATA_CURRENT
    assert codes[3, 3] == transitions.NODATA_PREVIOUS
    assert transitions.pair_class("croptype", 22) == "potato>wheat"


@pytest.mark.parametrize("method", ["centre", "fraction"])
def test_transition_counts_per_unit_on_a_4x4_grid(method):
    grid = PixelGrid(x_min=0.0, y_max=120.0, res=30.0, width=4, height=4)
    codes = transitions.pair_codes(PREVIOUS, CURRENT, "croptype")
    table = zonal.unit_pixel_sums(
        {"croptype": codes},
        grid,
        _halves(grid.bounds),
        method=method,
        class_of=transitions.pair_class,
    )
    for adcode, expected in (("110000", WEST), ("120000", EAST)):
        sel = table[table["adcode"] == adcode]
        got = {_key(c): p for c, p in zip(sel["code"], sel["pixels"], strict=True)}
        assert got == pytest.approx(expected)
    total = table[table["adcode"] == "100000"]
    assert total["pixels"].sum() == pytest.approx(16)
    assert set(table.loc[table["code"] == 22, "class"]) == {"potato>wheat"}


def _tile_pair():
    """The hand patch blown up to the tile: every hand pixel is 50 x 50 pixels."""
    block = np.ones((50, 50), np.uint8)
    return np.kron(PREVIOUS, block), np.kron(CURRENT, block)


def test_transition_table_of_summed_partials_with_nodata_apart():
    prev, cur = _tile_pair()
    pairs = {"croptype": transitions.pair_codes(prev, cur, "croptype")}
    units = _halves(TILE.bounds)
    prepared = zonal.prepare_levels({"province": units}, TILE)
    partial = transitions.transition_sums(pairs, TILE, prepared, method="centre")
    assert list(partial.columns) == zonal.PARTIAL_COLUMNS
    areas = sums.combine_partials([partial])
    sums.check_conservation(areas)
    table = transitions.transition_table(areas, units, "province", "croptype")
    assert list(table.columns) == transitions.TRANSITION_COLUMNS
    assert list(dict.fromkeys(table["adcode"])) == ["110000", "120000", "100000"]
    for adcode, expected in (("110000", WEST), ("120000", EAST)):
        sel = table[table["adcode"] == adcode]
        assert len(sel) == len(expected)
        for row in sel.itertuples():
            key = (row.from_code, row.to_code) if row.kind in ("changed", "unchanged") else row.kind
            assert row.pixels == expected[key] * 2500
            assert row.area_km2 == pytest.approx(expected[key] * 2500 * 900 / 1e6)
    west = table[table["adcode"] == "110000"]
    changed = west[west["kind"] == "changed"]
    assert set(zip(changed["from_class"], changed["to_class"], strict=True)) == {
        ("potato", "wheat"),
        ("not_cropland", "potato"),
    }
    nodata = table[table["kind"] == "nodata_previous"].iloc[0]
    assert (nodata["from_class"], nodata["to_class"], nodata["from_code"]) == ("nodata", "any", ND)
    assert pd.isna(nodata["to_code"])
    matrix = transitions.transition_matrix(west).set_index("from \\ to")
    assert matrix.loc["potato", "wheat"] == pytest.approx(2500 * 900 / 1e6)
    assert matrix.loc["potato", "potato"] == pytest.approx(3 * 2500 * 900 / 1e6)
    assert matrix.to_numpy().sum() == pytest.approx(7 * 2500 * 900 / 1e6)  # nodata left out


def test_block_flip_share_flags_one_block_over_and_not_one_at_the_share():
    grid = PixelGrid(x_min=0.0, y_max=120.0, res=30.0, width=8, height=4)
    lattice = BlockLattice(grid, 4)  # two blocks of 4 x 4 pixels
    prev = np.zeros((4, 8), np.uint8)
    cur = np.zeros((4, 8), np.uint8)
    cur[:, :4] = (np.arange(16) < 10).reshape(4, 4)  # left block: 10 of 16 changed (0.625)
    cur[:, 4:] = (np.arange(16) < 6).reshape(4, 4)  # right block: 6 changed ...
    prev[:, 4:] = np.where(np.arange(16) >= 12, ND, 0).reshape(4, 4)  # ... of 12 mapped
    codes = transitions.pair_codes(prev, cur, "cropland")
    counts = flags.block_counts(codes, lattice)
    assert counts["mapped"].tolist() == [[16, 12]]
    assert counts["changed"].tolist() == [[10, 6]]
    table = flags.block_flags(codes, lattice, "cropland", max_flip_share=0.5, min_pixels=12)
    assert table[["row", "col", "reason", "flagged_pixels"]].values.tolist() == [
        [0, 0, "flip_share", 10]
    ]
    assert table["flip_share"].tolist() == [0.625]
    stricter = flags.block_flags(codes, lattice, "cropland", max_flip_share=0.5, min_pixels=17)
    assert stricter.empty


def test_implausible_pairs_flagged_exactly_where_they_occur():
    prev = np.full(TILE.grid().shape, 1, np.uint8)
    cur = prev.copy()
    prev[60:63, 120] = 2  # sugar_beet -> potato: 3 pixels in block row 1, column 2
    prev[10, 10] = 1
    cur[10, 10] = 2  # potato -> sugar_beet (not listed) in block (0, 0)
    prev[199, 199] = 2  # sugar_beet -> potato, 1 pixel in block (3, 3)
    settings = ChangeSettings(
        products=["croptype"],
        implausible={"croptype": [["sugar_beet", "potato"]]},
        implausible_min_pixels=1,
    )
    pairs = {"croptype": transitions.pair_codes(prev, cur, "croptype")}
    # From 2 pixels of a pair up, the 1-pixel block is map noise, not a flag.
    noise = flags.tile_flags(pairs, TILE, settings.model_copy(update={"implausible_min_pixels": 2}))
    assert noise["block_id"].tolist() == ["h000v000_r01c02"]
    table = flags.tile_flags(pairs, TILE, settings)
    assert list(table.columns) == flags.FLAG_COLUMNS
    assert table[["block_id", "reason", "transition", "flagged_pixels"]].values.tolist() == [
        ["h000v000_r01c02", "implausible", "sugar_beet>potato", 3],
        ["h000v000_r03c03", "implausible", "sugar_beet>potato", 1],
    ]
    x0, _, _, y1 = TILE.bounds
    assert table["x"].tolist() == [x0 + 2.5 * 1500, x0 + 3.5 * 1500]
    assert table["y"].tolist() == [y1 - 1.5 * 1500, y1 - 3.5 * 1500]
    assert table["lon"].notna().all() and table["lat"].notna().all()


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ({"implausible": {"croptype": [["alfalfa", "potato"]]}}, "change.implausible.croptype"),
        ({"implausible": {"irrigation": [["irrigated", "rainfed"]]}}, "change.implausible"),
        ({"block_m": 1000}, "change.block_m"),
    ],
)
def test_bad_settings_name_the_key(values, message):
    with pytest.raises(ConfigError, match=message):
        ChangeSettings.build(values, "change")


def test_bad_implausible_name_lists_the_legend():
    with pytest.raises(ConfigError) as err:
        ChangeSettings.build({"implausible": {"croptype": [["alfalfa", "potato"]]}}, "change")
    assert "alfalfa" in str(err.value) and "sugar_beet" in str(err.value)


def test_block_edge_not_dividing_the_tile_names_the_change_key():
    settings = ChangeSettings(block_m=1410)
    with pytest.raises(ConfigError, match="change.block_m"):
        flags.tile_flags({}, TILE, settings)


def test_mismatched_shapes_name_both_files(tmp_path):
    a, b = tmp_path / "2021.tif", tmp_path / "2022.tif"
    geo = {"transform": rasterio.Affine(30, 0, 0, 0, -30, 120), "crs": ALBERS, "nodata": ND}
    write_raster(a, np.zeros((4, 4), np.uint8), **geo)
    write_raster(b, np.zeros((4, 5), np.uint8), **geo)
    grid = PixelGrid(x_min=0.0, y_max=120.0, res=30.0, width=4, height=4)
    with pytest.raises(DataError) as err:
        transitions.read_pair_codes(a, b, "cropland", grid)
    assert str(a) in str(err.value) and str(b) in str(err.value)
    with pytest.raises(DataError, match="4 x 5"):
        transitions.pair_codes(np.zeros((4, 4), np.uint8), np.zeros((4, 5), np.uint8), "cropland")


def test_the_rules_end_to_end(tmp_path):
    prev, cur = _tile_pair()
    grid = TILE.grid()
    files = {}
    years = {
        "croptype": (prev, cur),
        "cropland": tuple(np.where(x == ND, ND, x > 0).astype(np.uint8) for x in (prev, cur)),
    }
    for product, (p, c) in years.items():
        files[f"previous_{product}"] = write_grid_raster(
            tmp_path / f"p_{product}.tif", p, grid, nodata=ND
        )
        files[product] = write_grid_raster(tmp_path / f"c_{product}.tif", c, grid, nodata=ND)
    units = {"province": _halves(TILE.bounds), "county": _halves(TILE.bounds, ("110101", "120101"))}
    for level, gdf in units.items():
        boundaries.write_units(gdf, tmp_path / f"{level}.gpkg")
    levels = ["province", "county"]
    settings = {
        "implausible": {"croptype": [["potato", "wheat"]]},
        "min_pixels": 1,
        "implausible_min_pixels": 1,
    }
    params = {"change": settings, "tile_km": 6, "grid": {}, "method": "fraction", "levels": levels}
    folder = tmp_path / "tile"
    out = rules.tile_outputs(str(folder), ["cropland", "croptype"])
    job = fake_job(
        input={
            **files,
            "provinces": tmp_path / "province.gpkg",
            "counties": tmp_path / "county.gpkg",
        },
        output=out,
        params=params,
        log=tmp_path / "tile.log",
        wildcards={"tile": TILE.id, "year": "2022"},
    )
    rules.change_tile(job)
    with rasterio.open(out["croptype"]) as src:
        arr = src.read(1)
    assert arr[0, 50] == 22 and arr[0, 0] == 17 and arr[150, 0] == ND  # nodata in 2022
    tile_flags = pd.read_csv(out["flags"])
    implausible = tile_flags[tile_flags["reason"] == "implausible"]
    assert implausible["block_id"].tolist() == ["h000v000_r00c01"]  # hand pixel (0, 1)
    year = rules.year_outputs(str(tmp_path / "year"), ["cropland", "croptype"], levels)
    fan_in = SimpleNamespace(
        input=Namedlist(
            fromdict={
                "partials": [out["partial"]],
                "flags": [out["flags"]],
                "province": str(tmp_path / "province.gpkg"),
                "county": str(tmp_path / "county.gpkg"),
            }
        ),
        output=Namedlist(fromdict=year),
        params=Namedlist(fromdict={"change": settings, "levels": levels}),
        wildcards=Namedlist(fromdict={"year": "2022"}),
        log=[str(tmp_path / "year.log")],
    )
    rules.change(fan_in)
    county = pd.read_csv(year["croptype_county"], dtype={"adcode": str})
    west = county[(county["adcode"] == "110101") & (county["kind"] == "changed")]
    assert west["pixels"].sum() == pytest.approx(2 * 2500)
    assert pd.read_csv(year["flags"]).shape[0] == tile_flags.shape[0]
    page = (tmp_path / "year" / "transitions.html").read_text(encoding="utf-8")
    assert "West (110000)" in page and "potato" in page
