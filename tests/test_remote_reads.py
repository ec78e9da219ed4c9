"""Reading where the data lie: a tile's window of a remote COG, HTTP errors, dropped connections.

Against the real nginx of the ``stac_services`` fixture (its access log counts the
requests and bytes of each file).
"""

from __future__ import annotations

import json
import time
import uuid

import numpy as np
import pandas as pd
import pytest
from _ingest_scenes import NIR_DN, RED_DN, TILE, utm_grid
from affine import Affine
from pyproj import CRS

from agrifactory.errors import InputError
from agrifactory.grid import PixelGrid
from agrifactory.ingest.rules import IngestSettings, ingest_outputs
from agrifactory.ingest.tile import ingest_tile
from agrifactory.io.inventory import from_records
from agrifactory.io.raster import open_raster, warp_to_grid, write_raster
from agrifactory.io.remote import RemotePolicy, remote_reads
from agrifactory.testing.cog_server import access_records, served_bytes

PID = "LC08_L2SP_124031_20210614_20210624_02_T1"


def _records(log, uri, n=1, timeout=5.0):
    """The access-log records of ``uri`` once at least ``n`` are there (nginx logs after sending)."""
    deadline = time.monotonic() + timeout
    while True:
        found = [r for r in access_records(log) if r.uri == uri]
        if len(found) >= n or time.monotonic() > deadline:
            return found
        time.sleep(0.05)


@pytest.fixture(scope="module")
def big_cog(stac_services):
    """A 4096 x 4096 uint16 COG (noise: it does not compress) in UTM, 30 m pixels."""
    rng = np.random.default_rng(7)
    data = rng.integers(1, 60000, size=(4096, 4096), dtype=np.uint16)
    path = stac_services.cog_root / "remote" / "big.tif"
    transform = Affine(30.0, 0, 500_000.0, 0, -30.0, 4_600_000.0)
    write_raster(path, data, transform=transform, crs="EPSG:32650", nodata=0)
    return path, data, transform


def test_a_window_of_a_remote_cog_fetches_only_its_blocks(stac_services, big_cog):
    path, data, transform = big_cog
    # A 300 x 300 px grid (9 km) inside the file, on its pixel lattice.
    grid = PixelGrid(
        x_min=500_000.0 + 1000 * 30,
        y_max=4_600_000.0 - 2000 * 30,
        res=30.0,
        width=300,
        height=300,
        crs=CRS.from_epsg(32650),
    )
    url = f"{stac_services.http_url}/remote/big.tif"
    with remote_reads(RemotePolicy()), open_raster(url) as src:
        part = warp_to_grid(src, 1, grid, dtype=np.float32, dst_nodata=np.nan)
    np.testing.assert_array_equal(part, data[2000:2300, 1000:1300])
    size = path.stat().st_size
    _records(stac_services.access_log, "/remote/big.tif")
    sent = served_bytes(stac_services.access_log, "/remote/big.tif")
    # 300 x 300 px of 256 px blocks: at most 3 x 3 blocks of <= 128 KiB, plus the header.
    assert sent < 0.05 * size, (sent, size)
    assert all(
        r.status in (200, 206)
        for r in access_records(stac_services.access_log)
        if r.uri == "/remote/big.tif" and r.method == "GET"
    )


def test_an_asset_that_answers_404_names_the_url_and_what_to_do(stac_services):
    url = f"{stac_services.http_url}/remote/gone.tif"
    with remote_reads(RemotePolicy(retries=2, retry_wait_s=0.01)):
        with pytest.raises(InputError) as err:
            from agrifactory.io import remote

            remote.reading(url, lambda: open_raster(url).__enter__(), "item X1")
    text = str(err.value)
    assert url in text and "HTTP 404" in text and "item X1" in text
    assert "acquire" in text
    # A 404 is not tried again.
    assert len(_records(stac_services.access_log, "/remote/gone.tif")) <= 2


def _scene_files(root):
    """A Landsat scene over the test tile; noisy reflectance, so each file is far larger
    than the dropping server's cut (1024 bytes)."""
    transform, w, h = utm_grid()
    rng = np.random.default_rng(3)
    bands = {
        "SR_B4": RED_DN + rng.integers(-500, 500, (h, w)),
        "SR_B5": NIR_DN + rng.integers(-500, 500, (h, w)),
        "QA_PIXEL": np.full((h, w), 21824),
        "QA_RADSAT": np.zeros((h, w)),
    }
    files = {}
    for suffix, value in bands.items():
        path = root / PID / f"{PID}_{suffix}.TIF"
        write_raster(
            path,
            value.astype(np.uint16),
            transform=transform,
            crs="EPSG:32650",
            nodata=None if suffix.startswith("QA") else 0,
        )
        files[suffix] = path
    return files


def _landsat_records(assets):
    return [
        {
            "sensor": "landsat",
            "id": PID,
            "date": "2021-06-14",
            "path": "http://item/" + PID,
            "bands": ";".join(sorted(assets)),
            "assets": json.dumps(assets),
        }
    ]


def _modis_records(folder):
    """One local MODIS composite over the test tile (NDVI 0.6), as inventory records."""
    path = folder / "MOD09Q1.A2021161.h26v04.061.NDVI.tif"
    transform, w, h = utm_grid()
    write_raster(
        path,
        np.full((h, w), 6000, np.int16),
        transform=transform,
        crs="EPSG:32650",
        nodata=-3000,
        tags={"scale_factor": "0.0001"},
    )
    record = {"sensor": "modis", "id": path.stem, "date": "2021-06-10", "path": str(path)}
    return [{**record, "bands": "", "assets": ""}]


def test_a_connection_dropped_mid_read_is_retried_then_a_clear_error_and_no_stack(
    stac_services, tmp_path
):
    files = _scene_files(stac_services.cog_root / "drop_scene")
    base = stac_services.http_url
    assets = {s: f"{base}/drop/drop_scene/{PID}/{p.name}" for s, p in files.items()}
    modis = _modis_records(stac_services.cog_root / "drop_scene")
    outputs = ingest_outputs(str(tmp_path / "ingest"))
    with remote_reads(RemotePolicy(retries=2, retry_wait_s=0.01)):
        with pytest.raises(InputError) as err:
            ingest_tile(
                TILE,
                2021,
                from_records(_landsat_records(assets)),
                from_records(modis),
                outputs,
                IngestSettings(),
            )
    text = str(err.value)
    assert "/drop/drop_scene/" in text and "after 3 attempt(s)" in text and PID in text
    uri = f"/drop/drop_scene/{PID}/{files['SR_B4'].name}"
    cut = [r for r in _records(stac_services.access_log, uri, n=3) if r.body_bytes == 1024]
    assert len(cut) >= 3  # each attempt reached the server and was cut
    assert not any(pd.io.common.file_exists(p) for p in outputs.values())


def test_a_connection_dropped_once_is_retried_and_the_tile_completes(stac_services, tmp_path):
    files = _scene_files(stac_services.cog_root / "once_scene")
    base = stac_services.http_url
    assets = {s: f"{base}/drop-once/t1/once_scene/{PID}/{p.name}" for s, p in files.items()}
    modis = _modis_records(stac_services.cog_root / "once_scene")
    outputs = ingest_outputs(str(tmp_path / "ingest"))
    with remote_reads(RemotePolicy(retries=2, retry_wait_s=0.01)):
        ingest_tile(
            TILE,
            2021,
            from_records(_landsat_records(assets)),
            from_records(modis),
            outputs,
            IngestSettings(),
        )
    local = {s: str(p) for s, p in files.items()}
    local_outputs = ingest_outputs(str(tmp_path / "local"))
    ingest_tile(
        TILE,
        2021,
        from_records(_landsat_records(local)),
        from_records(modis),
        local_outputs,
        IngestSettings(),
    )
    first = f"/drop-once/t1/once_scene/{PID}/{files['SR_B4'].name}"
    cut = [r for r in _records(stac_services.access_log, first, n=2) if r.method == "GET"]
    assert cut and cut[0].body_bytes == 1024  # the first read was cut, and tried again
    for key in ("landsat_red", "landsat_nir", "landsat_ndvi"):
        assert _pixels(outputs[key]).tobytes() == _pixels(local_outputs[key]).tobytes()


def _pixels(path):
    import rasterio

    with rasterio.open(path) as src:
        return src.read()


def _gets(log, uri, n=1):
    return [r for r in _records(log, uri, n=n) if r.method == "GET"]


@pytest.fixture
def small_cog(stac_services):
    rng = np.random.default_rng(11)
    path = stac_services.cog_root / "cache" / f"{uuid.uuid4().hex}.tif"
    data = rng.integers(1, 60000, size=(512, 512), dtype=np.uint16)
    write_raster(
        path,
        data,
        transform=Affine(30.0, 0, 500_000.0, 0, -30.0, 4_600_000.0),
        crs="EPSG:32650",
        nodata=0,
    )
    return path, f"{stac_services.http_url}/cache/{path.name}", f"/cache/{path.name}"


def test_the_cache_downloads_a_file_once_and_reuses_it(stac_services, small_cog, tmp_path):
    from agrifactory.io.cache import cache_path, sha256_of

    path, url, uri = small_cog
    with remote_reads(RemotePolicy(cache_dir=str(tmp_path))):
        for _ in range(2):
            with open_raster(url) as src:
                assert src.read(1).shape == (512, 512)
    (get,) = _gets(stac_services.access_log, uri)
    assert get.range is None and get.body_bytes == path.stat().st_size
    copy = cache_path(tmp_path, url + "?sig=abc")  # signing tokens do not change the key
    assert sha256_of(copy) == sha256_of(path)
    assert copy.with_name(copy.name + ".sha256").read_text().split()[0] == sha256_of(path)


def test_the_cache_resumes_a_part_and_refetches_a_damaged_copy(stac_services, small_cog, tmp_path):
    from agrifactory.io.cache import cache_path, sha256_of

    path, url, uri = small_cog
    copy = cache_path(tmp_path, url)
    copy.parent.mkdir(parents=True)
    copy.with_name(copy.name + ".part").write_bytes(path.read_bytes()[:1000])
    with remote_reads(RemotePolicy(cache_dir=str(tmp_path))):
        with open_raster(url):
            pass
        (get,) = _gets(stac_services.access_log, uri)
        assert get.range == "bytes=1000-" and get.body_bytes == path.stat().st_size - 1000
        assert sha256_of(copy) == sha256_of(path)
        damaged = bytearray(copy.read_bytes())
        damaged[-1] ^= 0xFF
        copy.write_bytes(bytes(damaged))
        with open_raster(url):
            pass
    assert len(_gets(stac_services.access_log, uri, n=2)) == 2
    assert sha256_of(copy) == sha256_of(path)


def test_a_download_cut_every_time_leaves_only_the_part(stac_services, small_cog, tmp_path):
    from agrifactory.io.cache import cache_path

    path, _, _ = small_cog
    url = f"{stac_services.http_url}/drop/cache/{path.name}"
    with remote_reads(RemotePolicy(cache_dir=str(tmp_path), retries=1, retry_wait_s=0.01)):
        with pytest.raises(InputError, match="after 2 attempt"):
            from agrifactory.io import remote

            remote.reading(url, lambda: open_raster(url).__enter__())
    copy = cache_path(tmp_path, url)
    assert not copy.exists()
    assert copy.with_name(copy.name + ".part").stat().st_size > 0
