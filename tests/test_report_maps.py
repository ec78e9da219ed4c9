"""Map context: graticule, tile labels, locator box, valid shares and the overview map."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
import xarray as xr
from affine import Affine

from agrifactory.boundaries import write_units
from agrifactory.grid import ALBERS, Tile
from agrifactory.io.raster import write_grid_raster, write_raster
from agrifactory.report import context, maps
from agrifactory.report import rules as report_rules
from agrifactory.report.soil import panel_title, soil_moisture_map
from agrifactory.tiles import tile_index

# Two 6 km tiles side by side on the default lattice, near 114.2° E, 41.7° N.
TILES = [Tile(519, 209, 6), Tile(520, 209, 6)]


def _units(tmp_path: Path) -> tuple[Path, Path]:
    """A tiles GeoPackage of TILES and a provinces GeoPackage of three unit boxes (WGS84):
    a west and an east province splitting the tiles, and Taiwan (not mainland)."""
    x0, y0, _, _ = TILES[0].bounds
    _, _, x1, y1 = TILES[1].bounds
    mid = TILES[0].bounds[2]
    boxes = [
        shapely.box(x0 - 20_000, y0 - 20_000, mid, y1 + 20_000),
        shapely.box(mid, y0 - 20_000, x1 + 20_000, y1 + 20_000),
        shapely.box(x1 + 100_000, y0, x1 + 110_000, y1),
    ]
    provinces = gpd.GeoDataFrame(
        {
            "adcode": ["130000", "150000", "710000"],
            "name": ["河北省", "内蒙古自治区", "台湾省"],
            "province_adcode": ["130000", "150000", "710000"],
        },
        geometry=boxes,
        crs=ALBERS,
    )
    tiles_path, provinces_path = tmp_path / "tiles.gpkg", tmp_path / "provinces.gpkg"
    write_units(tile_index(TILES, provinces), tiles_path, layer="tiles")
    write_units(provinces.to_crs("EPSG:4326"), provinces_path)
    return tiles_path, provinces_path


@pytest.mark.parametrize(
    ("span", "step"), [(0.145, 0.05), (0.108, 0.05), (10.0, 2.0), (60.0, 20.0), (3.0, 1.0)]
)
def test_graticule_step_is_the_least_round_step_giving_at_most_five_intervals(span, step):
    assert context.nice_step(span) == pytest.approx(step)


def test_graticule_ticks_in_degrees_on_a_geographic_map():
    grid = context.graticule((100.0, 30.0, 110.0, 40.0), "EPSG:4326")
    assert grid.x_ticks == [(float(v), f"{v}°E") for v in range(100, 111, 2)]
    assert grid.y_ticks == [(float(v), f"{v}°N") for v in range(30, 41, 2)]
    assert len(grid.lines) == 12


def test_graticule_central_meridian_crosses_albers_at_x_zero():
    grid = context.graticule((-50_000.0, 3_000_000.0, 50_000.0, 3_100_000.0), ALBERS)
    labels = [label for _, label in grid.x_ticks]
    assert labels == ["104.5°E", "105.0°E", "105.5°E"]
    assert grid.x_ticks[1][0] == pytest.approx(0.0, abs=1e-6)
    # symmetric about the central meridian
    assert grid.x_ticks[0][0] == pytest.approx(-grid.x_ticks[2][0])


def test_tile_labels_sit_at_tile_corners_and_only_in_view(tmp_path):
    tiles_path, _ = _units(tmp_path)
    tiles = gpd.read_file(tiles_path)
    # upper-left corners on the default lattice: x = -3e6 + 6000 col, y = 6e6 - 6000 row
    assert context.tile_labels(tiles) == [
        context.TileLabel("h519v209", 114_000.0, 4_746_000.0),
        context.TileLabel("h520v209", 120_000.0, 4_746_000.0),
    ]
    # a view of the second tile holds its corner; the first tile's corner is outside
    assert [lab.tile for lab in context.tile_labels(tiles, TILES[1].bounds)] == ["h520v209"]
    # a view of the first tile only: the second tile's corner on its right edge is left out
    assert [lab.tile for lab in context.tile_labels(tiles, TILES[0].bounds)] == ["h519v209"]


def test_locator_box_grows_a_small_area_about_its_centre():
    outline = (0.0, 0.0, 1000.0, 500.0)  # 3 % of the longer side: 30
    assert context.locator_box((0.0, 0.0, 10.0, 10.0), outline) == (-10.0, -10.0, 20.0, 20.0)
    assert context.locator_box((0.0, 0.0, 100.0, 10.0), outline) == (0.0, -10.0, 100.0, 20.0)
    assert context.locator_box((0.0, 0.0, 100.0, 50.0), outline) == (0.0, 0.0, 100.0, 50.0)


def test_valid_shares_and_note_are_counted_from_the_band(tmp_path):
    tiles_path, _ = _units(tmp_path)
    tiles = gpd.read_file(tiles_path)
    x0, _, _, y1 = TILES[0].bounds
    stack = np.full((2, 200, 400), np.nan, np.float32)
    stack[0] = 0.5  # band 1 full: must not count
    stack[1, :50, :200] = 0.3  # west tile: 50 of 200 rows -> 25 %
    stack[1, :120, 200:] = 0.7  # east tile: 120 of 200 rows -> 60 %
    path = write_raster(
        tmp_path / "ndvi.tif",
        stack,
        transform=Affine(30, 0, x0, 0, -30, y1),
        crs=ALBERS,
        nodata=np.nan,
    )
    shares = context.valid_shares(path, tiles, band=2)
    assert shares == {"h519v209": 0.25, "h520v209": 0.6}
    assert context.valid_shares(path, tiles, band=1) == {"h519v209": 1.0, "h520v209": 1.0}
    assert context.share_notes(shares) == {"h519v209": "25 % valid", "h520v209": "60 % valid"}
    assert context.valid_share_note(shares) == (
        "Pixels with a value on this date: 42.5 % of the tiles' pixels "
        "(25.0–60.0 % per tile; white: no value)."
    )


def test_overview_rule_writes_the_map_and_the_mainland_provinces(tmp_path):
    tiles_path, provinces_path = _units(tmp_path)
    out = {"map": tmp_path / "overview.png", "provinces": tmp_path / "map_provinces.gpkg"}
    job = SimpleNamespace(
        input=SimpleNamespace(tiles=str(tiles_path), provinces=str(provinces_path)),
        output=SimpleNamespace(**{k: str(v) for k, v in out.items()}),
        params=SimpleNamespace(years=[2021], tile_km=6),
        log=[str(tmp_path / "overview.log")],
    )
    report_rules.overview_map(job)
    assert 0 < out["map"].stat().st_size < 200_000
    provinces = gpd.read_file(out["provinces"])
    assert sorted(provinces["adcode"].astype(str)) == ["130000", "150000"]  # no Taiwan
    assert provinces.crs == gpd.read_file(tiles_path).crs
    # the unit boxes are straight-sided: simplifying keeps their extent
    np.testing.assert_allclose(
        provinces.total_bounds[[1, 3]],
        [TILES[0].bounds[1] - 20_000, TILES[0].bounds[3] + 20_000],
        atol=1e3,  # a box's straight edges bend in WGS84 and back; < 1 km here
    )


def test_quicklooks_draw_with_the_context(tmp_path):
    tiles_path, provinces_path = _units(tmp_path)
    out = tmp_path / "map_provinces.gpkg"
    write_units(context.simplified_provinces(provinces_path, ALBERS), out, layer="provinces")
    ctx = context.load_context(tiles_path, out)
    grid = TILES[0].grid()
    ndvi = np.tile(np.linspace(-0.1, 0.9, grid.width, dtype=np.float32), (grid.height, 1))
    path = write_grid_raster(tmp_path / "ndvi.tif", ndvi, grid, nodata=np.nan, units="NDVI")
    png = maps.quicklook_continuous(
        path,
        tmp_path / "n.png",
        context=ctx,
        notes={"h519v209": "100 % valid"},
        footnote="a line",
    )
    classes = write_grid_raster(tmp_path / "c.tif", np.ones(grid.shape, np.uint8), grid, nodata=255)
    png_c = maps.quicklook_classes(classes, tmp_path / "c.png", product="cropland", context=ctx)
    assert png.stat().st_size > 0 and png_c.stat().st_size > 0


def test_soil_moisture_panels_name_the_month_variable_and_layer():
    assert panel_title("sm_surface", 7) == "surface (sm_surface), July mean"
    assert panel_title("sm_rootzone", 12) == "root zone (sm_rootzone), December mean"


def test_soil_moisture_map_draws_with_the_context(tmp_path):
    tiles_path, provinces_path = _units(tmp_path)
    out = tmp_path / "map_provinces.gpkg"
    write_units(context.simplified_provinces(provinces_path, ALBERS), out, layer="provinces")
    x0, _, x1, y1 = TILES[0].bounds
    x = np.arange(x0 + 500, x1, 1000.0)
    y = np.arange(y1 - 500, y1 - 6000, -1000.0)
    layer = np.full((2, 6, 6), 0.2, np.float32)
    path = tmp_path / "sm.nc"
    xr.Dataset(
        {"sm_surface": (("time", "y", "x"), layer), "sm_rootzone": (("time", "y", "x"), layer)},
        coords={"time": pd.to_datetime(["2021-07-01", "2021-07-02"]), "y": y, "x": x},
    ).to_netcdf(path)
    png = soil_moisture_map(
        [path], tmp_path / "sm.png", month=7, context=context.load_context(tiles_path, out)
    )
    assert png.stat().st_size > 0
