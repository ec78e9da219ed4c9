"""VRT mosaics and the STAC catalog, on a 2 x 2 tile product written for the test."""

from __future__ import annotations

import json

import numpy as np
import pytest
import rasterio

from agrifactory import legend
from agrifactory.errors import GridError
from agrifactory.grid import Tile
from agrifactory.io.raster import write_grid_raster
from agrifactory.report import stac, vrt
from agrifactory.report.palettes import palette


@pytest.fixture
def tiles(tmp_path):
    """Crop-type tiles h010v020..h011v021 (6 km, 200 x 200 px); pixel value = tile index + 1."""
    out = {}
    for k, (col, row) in enumerate(((10, 20), (11, 20), (10, 21), (11, 21))):
        tile = Tile(col, row, 6)
        arr = np.full(tile.grid().shape, k + 1, np.uint8)
        arr[0, 0] = 255
        path = tmp_path / "tiles" / tile.id / "2021" / "classify" / "croptype.tif"
        out[tile.id] = write_grid_raster(path, arr, tile.grid(), nodata=255, units="class")
    return out


def test_vrt_mosaics_tiles_in_place(tiles, tmp_path):
    # One tile missing: h011v021 leaves a hole that reads as nodata.
    sources = [tiles["h011v020"], tiles["h010v020"], tiles["h010v021"]]
    path = vrt.write_vrt(
        sources,
        tmp_path / "mosaics" / "croptype.vrt",
        classes=legend.CROPTYPE,
        colours=palette("croptype"),
    )
    with rasterio.open(path) as src:
        assert (src.width, src.height) == (400, 400)
        assert src.transform == Tile(10, 20, 6).grid().transform
        assert src.nodata == 255
        assert src.crs is not None
        data = src.read(1)
        colours = src.colormap(1)
    assert data[1, 1] == 1 and data[0, 0] == 255  # h010v020, its nodata corner kept
    assert data[1, 201] == 2 and data[0, 200] == 255  # h011v020 to the east
    assert data[201, 1] == 3  # h010v021 to the south
    assert (data[200:, 200:] == 255).all()  # the missing tile
    assert colours[6] == (244, 109, 67, 255)  # wheat in its legend colour
    assert colours[255][3] == 0  # nodata transparent
    text = path.read_text()
    assert "../tiles/h010v020/2021/classify/croptype.tif" in text  # relative paths
    assert "<Category>sugar_beet</Category>" in text


def test_vrt_reads_a_window_across_tiles_and_decimated(tiles, tmp_path):
    path = vrt.write_vrt(list(tiles.values()), tmp_path / "all.vrt")
    with rasterio.open(path) as src:
        window = src.read(1, window=((195, 205), (195, 205)))
        small = src.read(1, out_shape=(4, 4))
    assert (window[:5, :5] == 1).all() and (window[:5, 5:] == 2).all()
    assert (window[5:, :5] == 3).all()
    assert window[5, 5] == 255  # h011v021's nodata corner
    assert (window[5:, 5:] == 4).sum() == 24
    assert small.tolist() == [[1, 1, 2, 2], [1, 1, 2, 2], [3, 3, 4, 4], [3, 3, 4, 4]]


def test_vrt_refuses_mixed_or_overlapping_tiles(tiles, tmp_path):
    other = Tile(10, 20, 6)
    floats = write_grid_raster(
        tmp_path / "f.tif", np.zeros(other.grid().shape, np.float32), other.grid(), nodata=np.nan
    )
    with pytest.raises(GridError, match="dtype float32 differs"):
        vrt.write_vrt([tiles["h010v020"], floats], tmp_path / "x.vrt")
    with pytest.raises(GridError, match="overlaps"):
        vrt.write_vrt([tiles["h010v020"], tiles["h010v020"]], tmp_path / "x.vrt")
    shifted = Tile(10, 20, 6).grid()
    from agrifactory.grid import PixelGrid

    off = PixelGrid(shifted.x_min + 10, shifted.y_max, 30.0, 200, 200)
    off_path = write_grid_raster(tmp_path / "o.tif", np.zeros(off.shape, np.uint8), off, nodata=255)
    with pytest.raises(GridError, match="off the mosaic's grid"):
        vrt.write_vrt([tiles["h011v020"], off_path], tmp_path / "x.vrt")


def test_stac_catalog_links_products_to_inputs(tiles, tmp_path):
    inputs = {}
    for tid, path in tiles.items():
        ndvi = path.parent.parent / "timeseries" / "ndvi.tif"
        grid = Tile.from_id(tid, 6).grid()
        write_grid_raster(
            ndvi, np.full(grid.shape, 0.5, np.float32), grid, nodata=np.nan, units="1"
        )
        inputs[tid] = ndvi
    stats = tmp_path / "stats.csv"
    stats.write_text("adcode,cropland_kha,reference_date\n130000,1,2021-12-31\n")
    table = tmp_path / "province_comparison.csv"
    table.write_text("adcode\n130000\n")
    mosaic = vrt.write_vrt(list(tiles.values()), tmp_path / "mosaics" / "croptype.vrt")
    specs = [
        stac.ProductSpec("croptype", "Crop type", "Crop type at 30 m", classes=legend.CROPTYPE),
        stac.ProductSpec("ndvi", "Smoothed NDVI", "HANTS-smoothed NDVI", units="1"),
    ]
    files = [stac.ProductFile("ndvi", tid, 2021, p) for tid, p in inputs.items()]
    files += [
        stac.ProductFile("croptype", tid, 2021, p, (inputs[tid], stats)) for tid, p in tiles.items()
    ]
    root = stac.write_catalog(
        tmp_path / "stac",
        specs,
        files,
        mosaics={"croptype": mosaic},
        run_assets={"province_comparison": table},
        run_inputs=[stats],
    )
    assert stac.check_catalog(root) == []
    item_path = (
        tmp_path / "stac" / "croptype" / "croptype-h010v020-2021" / "croptype-h010v020-2021.json"
    )
    item = json.loads(item_path.read_text())
    derived = [link["href"] for link in item["links"] if link["rel"] == "derived_from"]
    assert "../../ndvi/ndvi-h010v020-2021/ndvi-h010v020-2021.json" in derived  # input item
    assert any(h.endswith("stats.csv") for h in derived)  # input file
    asset = item["assets"]["data"]
    assert asset["href"].endswith("tiles/h010v020/2021/classify/croptype.tif")
    assert not asset["href"].startswith("/")
    names = {c["value"]: c["name"] for c in asset["classification:classes"]}
    assert names[6] == "wheat" and names[255] == "nodata"
    assert item["properties"]["proj:shape"] == [200, 200]
    lon0, lat0, lon1, lat1 = item["bbox"]
    assert -180 < lon0 < lon1 < 180 and -90 < lat0 < lat1 < 90
    collection = json.loads((tmp_path / "stac" / "croptype" / "collection.json").read_text())
    assert collection["assets"]["mosaic"]["href"] == "../../mosaics/croptype.vrt"

    # Rewriting replaces the catalog as a whole; a broken link is reported.
    (tmp_path / "stats.csv").unlink()
    problems = stac.check_catalog(root)
    assert problems and all("stats.csv" in p for p in problems)
