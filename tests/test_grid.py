"""The tile grid: ids, bounds, exact 30 m and 1 km grids, abutting neighbours."""

import pytest
from hypothesis import given
from hypothesis import strategies as st

from agrifactory import grid
from agrifactory.errors import ConfigError
from agrifactory.grid import Tile


def test_demo_tile_bounds_worked_by_hand():
    # x_min = -3,000,000 + 249 * 15,000 = 735,000; y_max = 6,000,000 - 98 * 15,000 = 4,530,000
    t = Tile.from_id("h249v098", 15)
    assert t.bounds == (735_000.0, 4_515_000.0, 750_000.0, 4_530_000.0)
    fine, coarse = t.grid(30.0), t.grid(1000.0)
    assert fine.shape == (500, 500) and coarse.shape == (15, 15)
    assert fine.bounds == coarse.bounds == t.bounds
    assert tuple(fine.transform)[:6] == (30.0, 0.0, 735_000.0, 0.0, -30.0, 4_530_000.0)


def test_halo_grid_grows_every_side():
    g = Tile(249, 98, 15).grid(30.0, halo_px=25)
    assert g.shape == (550, 550)
    assert g.bounds == (735_000.0 - 750, 4_515_000.0 - 750, 750_000.0 + 750, 4_530_000.0 + 750)


@pytest.mark.parametrize("bad", [10, 7, 5, 0, -3, 15.0, True, "15"])
def test_tile_km_must_be_a_multiple_of_3_and_at_least_6(bad):
    with pytest.raises(ConfigError, match="tile"):
        grid.check_tile_km(bad)


def test_tile_id_round_trip_and_malformed_ids():
    assert grid.parse_tile_id(grid.tile_id(7, 1234)) == (7, 1234)
    assert grid.tile_id(7, 12) == "h007v012"
    for bad in ("h7v12", "x001v002", "h001v002 ", "h001"):
        with pytest.raises(ConfigError, match="malformed tile id"):
            grid.parse_tile_id(bad)


@given(col=st.integers(0, 900), row=st.integers(0, 900), km=st.sampled_from([6, 15, 90, 120]))
def test_neighbours_abut_exactly(col, row, km):
    t, right, below = Tile(col, row, km), Tile(col + 1, row, km), Tile(col, row + 1, km)
    assert t.bounds[2] == right.bounds[0]
    assert t.bounds[1] == below.bounds[3]
    # Both pixel grids fit the tile exactly.
    assert t.grid(30.0).width * 30.0 == t.grid(1000.0).width * 1000.0 == km * 1000.0


def test_tiles_covering_does_not_pull_in_neighbours_on_an_edge():
    tiles = grid.tiles_covering((735_000.0, 4_515_000.0, 750_000.0, 4_530_000.0), 15)
    assert [t.id for t in tiles] == ["h249v098"]
    tiles = grid.tiles_covering((740_000.0, 4_510_000.0, 760_000.0, 4_520_000.0), 15)
    assert [t.id for t in tiles] == ["h249v098", "h250v098", "h249v099", "h250v099"]


def test_demo_aoi_gives_two_by_two_tiles():
    tiles = grid.tiles_for_aoi([114.00, 41.48, 114.28, 41.72], 15)
    assert [t.id for t in tiles] == ["h249v098", "h250v098", "h249v099", "h250v099"]


def test_bad_aoi_and_duplicate_tile_lists_are_named():
    with pytest.raises(ConfigError, match="AOI box"):
        grid.tiles_for_aoi([114.3, 41.5, 114.0, 41.7], 15)
    with pytest.raises(ConfigError, match="tiles.txt: duplicate tile ids h001v002"):
        grid.check_unique_tile_ids(["h001v002", "h003v004", "h001v002"], "tiles.txt")


def test_pixel_centres_and_area():
    x, y = Tile(249, 98, 15).grid(1000.0).pixel_centres()
    assert x[0] == 735_500.0 and y[0] == 4_529_500.0 and x[-1] == 749_500.0
    assert grid.pixel_area_m2() == 900.0


def test_albers_is_the_documented_projection():
    from pyproj import CRS, Transformer

    assert grid.ALBERS.equals(CRS.from_proj4(grid.ALBERS_PROJ4), ignore_axis_order=True)
    # Central meridian 105E maps to x = 0.
    x, _ = Transformer.from_crs("EPSG:4326", grid.ALBERS, always_xy=True).transform(105.0, 35.0)
    assert abs(x) < 1e-6


# --- the grid's CRS and origin are settings ----------------------------------------

MODIS_SINU = "+proj=sinu +lon_0=0 +x_0=0 +y_0=0 +R=6371007.181 +units=m +no_defs"


@pytest.mark.parametrize(
    ("text", "projection"),
    [("EPSG:3857", "Popular Visualisation Pseudo Mercator"), ("EPSG:32721", "Transverse Mercator")],
)
def test_a_grid_crs_that_does_not_preserve_area_is_refused(text, projection):
    from agrifactory.config import GridSettings

    with pytest.raises(ConfigError) as err:
        GridSettings.build({"crs": text}, "grid")
    message = str(err.value)
    assert f"grid.crs: {text!r}: its projection is {projection!r}" in message
    assert "equal-area projection such as Albers (aea), Lambert azimuthal (laea)" in message
    with pytest.raises(ConfigError, match="it is not a projected CRS"):
        grid.grid_crs("EPSG:4326")


@pytest.mark.parametrize("text", [MODIS_SINU, "EPSG:3035", "+proj=laea +lat_0=-10 +lon_0=-55"])
def test_equal_area_grid_crs_are_accepted(text):
    from agrifactory.config import GridSettings

    assert GridSettings.build({"crs": text}, "grid").crs == text
    assert grid.grid_crs(text).is_projected


def test_the_default_grid_is_china_albers_by_name():
    spec = grid.GridSpec.from_config({"crs": grid.ALBERS_PROJ4, "origin": [-3e6, 6e6]})
    assert spec == grid.DEFAULT_GRID
    assert spec.crs is grid.ALBERS  # files keep the name "China Albers Equal Area (WGS84)"
    assert Tile.from_id("h249v098", 15, spec).grid().crs.name == "China Albers Equal Area (WGS84)"


def test_a_tile_of_a_sinusoidal_grid():
    # Origin on the MODIS pixel lattice of the Sinop cube's corner; 60 km tiles.
    spec = grid.GridSpec.from_config({"crs": MODIS_SINU, "origin": [-6_100_000.0, -1_200_000.0]})
    tile = Tile.from_id("h002v003", 60, spec)
    # x: -6,100,000 + 2 * 60,000 = -5,980,000; y_max: -1,200,000 - 3 * 60,000 = -1,380,000.
    assert tile.bounds == (-5_980_000.0, -1_440_000.0, -5_920_000.0, -1_380_000.0)
    g = tile.grid(1000.0)
    assert g.crs.equals(grid.grid_crs(MODIS_SINU)) and g.shape == (60, 60)
    # The tile holding (lon, lat) = (-55.65, -11.76): x = R * lon * cos(lat) in radians.
    import math

    r = 6_371_007.181
    x = r * math.radians(-55.65) * math.cos(math.radians(-11.76))
    y = r * math.radians(-11.76)
    (found,) = grid.tiles_covering((x - 1, y - 1, x + 1, y + 1), 60, spec)
    assert found.col == math.floor((x + 6_100_000.0) / 60_000)
    assert found.row == math.floor((-1_200_000.0 - y) / 60_000)
    assert found.spec == spec


def test_a_grid_of_modis_pixels_snaps_the_tile_edge_to_whole_pixels():
    res = 231.65635826395825  # MOD13Q1: 4800 pixels per 1,111,950.5197665 m MODIS tile
    spec = grid.GridSpec.from_config(
        {"crs": MODIS_SINU, "origin": [-6_073_798.0627, -1_278_279.7828], "fine_res": res}
    )
    tile = Tile.from_id("h000v000", 60, spec)
    # 60,000 / 231.656 = 259.004 -> 259 pixels: 59,999.0 m.
    assert tile.size_m == 259 * res
    g = tile.grid()
    assert g.shape == (259, 259) and g.res == res
    assert (g.x_min, g.y_max) == (-6_073_798.0627, -1_278_279.7828)
    right = Tile.from_id("h001v000", 60, spec).grid()
    assert right.x_min == g.bounds[2]  # neighbours abut pixel for pixel
    assert Tile.from_id("h000v000", 60).size_m == 60_000.0  # 30 m grids keep whole km


def test_lattice_cells_by_hand():
    import numpy as np

    from agrifactory.grid import lattice_cells

    # Cells of 100 m from the upper-left corner (1000, 5000); edges belong to the next cell.
    cols, rows = lattice_cells(
        np.array([1000.0, 1099.9, 1100.0, 950.0]),
        np.array([5000.0, 4900.1, 4900.0, 5050.0]),
        (1000.0, 5000.0),
        100.0,
    )
    assert cols.tolist() == [0, 0, 1, -1] and rows.tolist() == [0, 0, 1, -1]
