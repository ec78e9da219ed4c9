"""Reading other cropland products onto a tile's 30 m grid (integration.products)."""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import pytest
import rasterio
from affine import Affine
from pyproj import CRS, Transformer

from agrifactory.errors import ConfigError, InputError
from agrifactory.grid import ALBERS, PixelGrid
from agrifactory.integration.products import (
    check_product,
    codes_text,
    covering_files,
    cropland_fraction,
    file_year,
    find_files,
    legend_values,
)
from agrifactory.integration.rules import ProductSettings

UTM = CRS.from_epsg(32650)
#: A 4 x 4 grid of 30 m pixels in UTM 50N; products below are aligned with it.
GRID = PixelGrid(x_min=600_000.0, y_max=4_500_000.0, res=30.0, width=4, height=4, crs=UTM)
LEGEND = {"cropland": [40], "other": [10, 20, 30], "nodata": [0]}
KEY = "integration.products[0]"


def _product(path: Path | str, layout: str = "geotiff", **kw) -> ProductSettings:
    fields = {"name": "p", "layout": layout, "path": str(path), "year": 2021, "legend": LEGEND}
    return ProductSettings(**{**fields, **kw})


def _write(path: Path, data, transform: Affine, crs=UTM, nodata=255, tags=None) -> Path:
    data = np.asarray(data, dtype=np.uint8)
    with rasterio.open(
        path, "w", driver="GTiff", width=data.shape[1], height=data.shape[0], count=1,
        dtype="uint8", crs=crs, transform=transform, nodata=nodata,
    ) as dst:  # fmt: skip
        dst.write(data, 1)
        if tags:
            dst.update_tags(**tags)
    return path


def _on_grid(res: float, x0: float = GRID.x_min, y0: float = GRID.y_max) -> Affine:
    return Affine(res, 0.0, x0, 0.0, -res, y0)


def _fraction(files, grid=GRID) -> np.ndarray:
    return cropland_fraction(_product(files[0]), KEY, files, grid)


# --- legend and resampling ---------------------------------------------------------


def test_legend_maps_codes_to_cropland_other_and_nan():
    data = np.array([[40, 10, 0, 255], [20, 40, 30, 40]], dtype=np.uint8)
    product = _product("x.tif")
    got = legend_values(data, 255, product.legend, Path("x.tif"), KEY)
    nan = np.nan
    np.testing.assert_array_equal(got, [[1, 0, nan, nan], [0, 1, 0, 1]])
    assert got.dtype == np.float32


def test_10m_product_gives_ninths(tmp_path):
    k = np.arange(16).reshape(4, 4) % 10  # cropland 10 m pixels in each 30 m pixel: 0..9
    blocks = (np.arange(9) < k[..., None]).reshape(4, 4, 3, 3)  # the first k of each 3 x 3
    data = np.where(blocks.transpose(0, 2, 1, 3).reshape(12, 12), 40, 10)
    path = _write(tmp_path / "fine.tif", data, _on_grid(10.0))
    got = _fraction([path])
    np.testing.assert_array_equal(got, (k / 9).astype(np.float32))


def test_10m_product_nodata_pixels_are_left_out_of_the_share(tmp_path):
    data = np.full((12, 12), 10, dtype=np.uint8)
    data[0:3, 0:3] = [[40, 40, 0], [255, 10, 10], [0, 0, 0]]  # 2 cropland of 4 valid
    data[0:3, 3:6] = 0  # no valid pixel at all
    path = _write(tmp_path / "fine.tif", data, _on_grid(10.0))
    got = _fraction([path])
    assert got[0, 0] == 0.5
    assert np.isnan(got[0, 1])
    assert np.count_nonzero(np.isnan(got)) == 1


def test_60m_product_gives_each_pixel_its_coarse_pixels_value(tmp_path):
    path = _write(tmp_path / "coarse.tif", [[40, 10], [0, 40]], _on_grid(60.0))
    got = _fraction([path])
    nan = np.nan
    expected = np.kron([[1, 0], [nan, 1]], np.ones((2, 2)))
    np.testing.assert_array_equal(got, expected)


def test_partial_product_is_nan_outside(tmp_path):
    data = np.tile(np.array([40, 40, 40, 10, 10, 10], dtype=np.uint8), (12, 1))  # 60 m wide
    path = _write(tmp_path / "left.tif", data, _on_grid(10.0))
    got = _fraction([path])
    np.testing.assert_array_equal(got[:, :2], np.tile([1.0, 0.0], (4, 1)))
    assert np.isnan(got[:, 2:]).all()


def test_two_files_mosaic_first_with_a_value_wins(tmp_path):
    a = np.full((12, 9), 40, dtype=np.uint8)  # 30 m columns 0-2: cropland
    a[0:3, 3:6] = 0  # ... but no data in pixel (0, 1)
    b = np.full((12, 9), 10, dtype=np.uint8)  # 30 m columns 1-3: other
    first = _write(tmp_path / "a.tif", a, _on_grid(10.0))
    second = _write(tmp_path / "b.tif", b, _on_grid(10.0, x0=GRID.x_min + 30))
    got = _fraction([first, second])
    expected = np.tile([1.0, 1.0, 1.0, 0.0], (4, 1))
    expected[0, 1] = 0.0
    np.testing.assert_array_equal(got, expected)


def test_uncovered_grid_stays_nan_and_is_logged(tmp_path, caplog):
    path = _write(tmp_path / "far.tif", [[40]], _on_grid(30.0, x0=GRID.x_min + 10_000))
    with caplog.at_level(logging.INFO):
        got = _fraction([path])
    assert np.isnan(got).all()
    assert "no file (of 1) has data on the grid" in caplog.text


def test_log_says_files_coverage_and_mean(tmp_path, caplog):
    path = _write(tmp_path / "coarse.tif", [[40, 10], [0, 40]], _on_grid(60.0))
    with caplog.at_level(logging.INFO):
        _fraction([path])
    assert "p: 1 of 1 files read, 75.0 % of the grid covered, mean cropland fraction 0.667" in (
        caplog.text
    )


def test_undeclared_code_names_file_codes_counts_and_fix(tmp_path):
    data = np.full((12, 12), 40, dtype=np.uint8)
    data[0, :5] = 50
    data[1, 0] = 60
    path = _write(tmp_path / "odd.tif", data, _on_grid(10.0))
    with pytest.raises(InputError) as err:
        _fraction([path])
    msg = str(err.value)
    assert str(path) in msg and "50 (5 pixels), 60 (1 pixels)" in msg
    assert f"add them to {KEY}.legend as cropland, other or nodata" in msg


# --- files -------------------------------------------------------------------------


def _lonlat_grid(lon: float, lat: float) -> PixelGrid:
    """A 4 x 4 Albers grid of 30 m pixels whose corner lies near (lon, lat)."""
    x, y = Transformer.from_crs("EPSG:4326", ALBERS, always_xy=True).transform(lon, lat)
    return PixelGrid(x_min=round(x / 30) * 30, y_max=round(y / 30) * 30, res=30.0, width=4,
                     height=4)  # fmt: skip


def _worldcover_file(folder: Path, corner: str, year: int = 2021, code: int = 40) -> Path:
    """A small WorldCover-named file: 0.001 degree pixels over lon 115.4-115.6, lat 40.4-40.6."""
    name = f"ESA_WorldCover_10m_{year}_v200_{corner}_Map.tif"
    transform = Affine(0.001, 0.0, 115.4, 0.0, -0.001, 40.6)
    data = np.full((200, 200), code, dtype=np.uint8)
    return _write(folder / name, data, transform, crs="EPSG:4326", nodata=0)


def test_worldcover_tiles_are_chosen_by_name(tmp_path):
    wanted = _worldcover_file(tmp_path, "N39E114")
    (tmp_path / "ESA_WorldCover_10m_2021_v200_N42E114_Map.tif").write_bytes(b"not read")
    (tmp_path / "notes.txt").write_text("ignored")
    product = _product(tmp_path, "worldcover", resolution_m=10)
    files = find_files(product, KEY)
    assert [f.name for f in files] == [
        "ESA_WorldCover_10m_2021_v200_N39E114_Map.tif",
        "ESA_WorldCover_10m_2021_v200_N42E114_Map.tif",
    ]
    grid = _lonlat_grid(115.5, 40.5)
    chosen = covering_files(product, files, grid)
    assert chosen == [wanted]
    got = cropland_fraction(product, KEY, chosen, grid)
    np.testing.assert_array_equal(got, np.ones((4, 4)))


def test_worldcover_south_west_names(tmp_path):
    product = _product(tmp_path, "worldcover", resolution_m=10)
    names = [tmp_path / f"ESA_WorldCover_10m_2021_v200_{c}_Map.tif" for c in ("S03W060", "S06W060")]
    grid = _lonlat_grid(-58.5, -1.5)
    assert covering_files(product, names, grid) == [names[0]]


def test_geotiff_files_are_chosen_by_header(tmp_path):
    near = _write(tmp_path / "a.tif", [[40]], _on_grid(30.0))
    far = _write(tmp_path / "b.tif", [[40]], _on_grid(30.0, x0=GRID.x_min + 10_000))
    product = _product(tmp_path / "*.tif")
    assert find_files(product, KEY) == [near, far]
    assert covering_files(product, [near, far], GRID) == [near]


def test_clcd_files_by_name(tmp_path):
    good = _write(tmp_path / "CLCD_v01_2021_albert_henan.tif", [[40]], _on_grid(30.0))
    (tmp_path / "CLCD_v01_2021_henan.tif").write_bytes(b"")
    assert find_files(_product(tmp_path, "clcd"), KEY) == [good]
    assert file_year(good, "clcd") == 2021


def test_file_year_from_name_or_tag(tmp_path):
    tagged = _write(tmp_path / "t.tif", [[40]], _on_grid(30.0), tags={"year": "2019"})
    plain = _write(tmp_path / "u.tif", [[40]], _on_grid(30.0))
    assert file_year(tagged, "geotiff") == 2019
    assert file_year(plain, "geotiff") is None
    assert file_year("ESA_WorldCover_10m_2020_v100_N39E114_Map.tif", "worldcover") == 2020


@pytest.mark.parametrize(
    ("layout", "path", "expected"),
    [
        ("worldcover", "{tmp}", "ESA_WorldCover_10m_<year>_v<version>_<N|S>"),
        ("clcd", "{tmp}", "CLCD_v01_<year>_albert_<province>.tif"),
        ("geotiff", "{tmp}/*.tif", "a GeoTIFF file or a glob"),
        ("geotiff", "{tmp}/gfsad.tif", "a GeoTIFF file or a glob"),
        ("clcd", "{tmp}/missing", "folder not found"),
    ],
)
def test_no_files_names_path_pattern_and_key(tmp_path, layout, path, expected):
    product = _product(path.format(tmp=tmp_path), layout)
    with pytest.raises(InputError) as err:
        find_files(product, KEY)
    msg = str(err.value)
    assert str(tmp_path) in msg and expected in msg and f"{KEY}.path" in msg


# --- checks ------------------------------------------------------------------------


def test_check_passes_a_good_product(tmp_path):
    _worldcover_file(tmp_path, "N39E114")
    legend = {"cropland": [40], "other": [10], "nodata": [0]}
    tags = {f"class_{c}": "x" for c in (10, 40)}  # nodata 0 is the file's nodata
    _write(tmp_path / "g.tif", [[40]], _on_grid(30.0), nodata=0, tags={**tags, "year": "2021"})
    check_product(_product(tmp_path, "worldcover", resolution_m=10), KEY)
    check_product(_product(tmp_path / "g.tif", legend=legend), KEY)


def test_year_too_far_from_the_run(tmp_path):
    from agrifactory.integration.rules import IntegrationSettings

    product = _product(tmp_path, "worldcover", resolution_m=10, year=2018)
    settings = IntegrationSettings(products=[product])
    with pytest.raises(ConfigError) as err:
        settings.check_years([2019, 2020, 2021])  # when the run is planned
    msg = str(err.value)
    assert f"{KEY}.year = 2018" in msg and "[2020, 2021]" in msg
    assert "integration.max_year_offset" in msg


def test_file_of_another_year_by_name(tmp_path):
    path = _worldcover_file(tmp_path, "N39E114", year=2020)
    with pytest.raises(InputError) as err:
        check_product(_product(tmp_path, "worldcover", resolution_m=10), KEY)
    assert str(path) in str(err.value)
    assert f"the file maps 2020 (its name) but {KEY}.year is 2021" in str(err.value)


def test_file_of_another_year_by_tag(tmp_path):
    path = _write(tmp_path / "g.tif", [[40]], _on_grid(30.0), tags={"year": "2019"})
    with pytest.raises(InputError) as err:
        check_product(_product(path), KEY)
    assert str(path) in str(err.value)
    assert f"the file maps 2019 (its 'year' tag) but {KEY}.year is 2021" in str(err.value)


def test_geographic_crs_needs_resolution(tmp_path):
    path = _worldcover_file(tmp_path, "N39E114")
    with pytest.raises(ConfigError) as err:
        check_product(_product(tmp_path, "worldcover"), KEY)
    msg = str(err.value)
    assert str(path) in msg and f"{KEY}.resolution_m" in msg and "e.g. 10 for WorldCover" in msg


def test_file_legend_lacking_a_declared_class(tmp_path):
    tags = {f"class_{c}": f"class {c}" for c in range(1, 10)}
    path = _write(tmp_path / "c.tif", [[1]], _on_grid(30.0), tags=tags)
    legend = {"cropland": [1], "other": [2, 3, 40], "nodata": []}
    with pytest.raises(InputError) as err:
        check_product(_product(path, legend=legend), KEY)
    msg = str(err.value)
    assert str(path) in msg
    assert (
        f"{KEY}.legend declares code 40 (other) but the file's legend has no class 40 "
        "(it has 1..9)" in msg
    )
    assert "the legend does not fit this product" in msg


def test_codes_text():
    assert codes_text([9, 1, 2, 3, 5, 6]) == "1..3, 5, 6, 9"
    assert codes_text({10: "a", 20: "b"}) == "10, 20"


def test_grid_bounds_in_another_crs_cover_the_grid():
    west, south, east, north = GRID.bounds_in("EPSG:4326")
    to_lonlat = Transformer.from_crs(UTM, "EPSG:4326", always_xy=True)
    x0, y0, x1, y1 = GRID.bounds
    for x, y in [(x0, y0), (x0, y1), (x1, y0), (x1, y1)]:
        lon, lat = to_lonlat.transform(x, y)
        assert west <= lon <= east and south <= lat <= north
