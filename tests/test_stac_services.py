"""The local STAC services are real: a pgstac-backed STAC API answering searches, and
nginx answering Range requests, counting bytes, failing as documented (docs/stac.md)."""

from __future__ import annotations

import http.client
import os
import time
import urllib.error
import urllib.request
from pathlib import Path

import numpy as np
import pytest
import rasterio
from rasterio.transform import from_origin
from rasterio.windows import Window

from agrifactory.testing.cog_server import AccessRecord, access_records, served_bytes
from agrifactory.testing.dropping_server import byte_range
from agrifactory.testing.stac_services import (
    PYTHON_MODULES,
    ServicesUnavailable,
    StacServices,
    check_prerequisites,
)

COLLECTION = "test-services-landsat-c2-l2"
PROJ = "https://stac-extensions.github.io/projection/v1.0.0/schema.json"
EO = "https://stac-extensions.github.io/eo/v1.1.0/schema.json"
COG = "image/tiff; application=geotiff; profile=cloud-optimized"


def _collection() -> dict:
    return {
        "type": "Collection",
        "stac_version": "1.0.0",
        "id": COLLECTION,
        "description": "Landsat C2 L2 items shaped like the Planetary Computer's",
        "license": "proprietary",
        "links": [],
        "extent": {
            "spatial": {"bbox": [[9.0, 44.0, 13.0, 48.0]]},
            "temporal": {"interval": [["2024-01-01T00:00:00Z", "2024-12-31T23:59:59Z"]]},
        },
    }


def _item(item_id: str, bbox: list[float], when: str, base_url: str) -> dict:
    """A Landsat-like item with `proj` and `eo`, assets red, nir08, qa_pixel."""
    west, south, east, north = bbox
    bands = {"red": "SR_B4", "nir08": "SR_B5", "qa_pixel": "QA_PIXEL"}
    assets = {
        key: {
            "href": f"{base_url}/{item_id}/{band}.TIF",
            "type": COG,
            "roles": ["data"] if key != "qa_pixel" else ["cloud"],
            "eo:bands": [{"name": band}],
        }
        for key, band in bands.items()
    }
    ring = [[west, south], [east, south], [east, north], [west, north], [west, south]]
    return {
        "type": "Feature",
        "stac_version": "1.0.0",
        "stac_extensions": [PROJ, EO],
        "id": item_id,
        "collection": COLLECTION,
        "bbox": bbox,
        "geometry": {"type": "Polygon", "coordinates": [ring]},
        "properties": {"datetime": when, "proj:epsg": 32632, "eo:cloud_cover": 12.5},
        "assets": assets,
        "links": [],
    }


def _records(services: StacServices, uri: str, count: int) -> list[AccessRecord]:
    """The access-log records of `uri` once there are `count` (nginx writes a line
    just after the response, so it may lag the client by a moment)."""
    for _ in range(50):
        found = [r for r in access_records(services.access_log) if r.uri == uri]
        if len(found) >= count:
            return found
        time.sleep(0.1)
    return found


def _get(url: str, range_: str | None = None) -> http.client.HTTPResponse:
    headers = {"Range": range_} if range_ else {}
    return urllib.request.urlopen(urllib.request.Request(url, headers=headers), timeout=10)


def test_search_returns_the_items_that_intersect(stac_services: StacServices) -> None:
    from pystac_client import Client

    url = stac_services.http_url
    items = [
        _item("LC09_A_20240601", [10.0, 45.0, 11.0, 46.0], "2024-06-01T10:00:00Z", url),
        _item("LC09_B_20240617", [10.5, 45.5, 11.5, 46.5], "2024-06-17T10:00:00Z", url),
        _item("LC09_C_20240801", [10.0, 45.0, 11.0, 46.0], "2024-08-01T10:00:00Z", url),  # late
        _item("LC09_D_20240609", [12.0, 47.0, 12.5, 47.5], "2024-06-09T10:00:00Z", url),  # away
    ]
    stac_services.load([_collection()], items)

    client = Client.open(stac_services.api_url)
    assert COLLECTION in [c.id for c in client.get_collections()]
    search = client.search(
        collections=[COLLECTION], bbox=[10.8, 45.8, 10.9, 45.9], datetime="2024-05-01/2024-06-30"
    )
    raw = sorted(search.item_collection_as_dict()["features"], key=lambda item: item["id"])
    assert [item["id"] for item in raw] == ["LC09_A_20240601", "LC09_B_20240617"]
    # The API returns the items as loaded (pgstac stores them dehydrated against the
    # collection and hydrates them on the way out).
    assert raw[0]["stac_extensions"] == [PROJ, EO]
    assert raw[0]["properties"]["proj:epsg"] == 32632
    assert raw[0]["assets"] == items[0]["assets"]
    assert raw[0]["bbox"] == items[0]["bbox"]

    # pystac migrates projection v1.0 to v2.0 on reading: proj:epsg becomes proj:code.
    first = min(search.items(), key=lambda item: item.id)
    assert first.ext.proj.code == "EPSG:32632"
    assert first.ext.eo.cloud_cover == 12.5
    assert set(first.assets) == {"red", "nir08", "qa_pixel"}
    assert first.assets["nir08"].href == f"{url}/LC09_A_20240601/SR_B5.TIF"


def test_nginx_answers_a_range_with_exactly_the_asked_bytes(stac_services: StacServices) -> None:
    data = np.random.default_rng(0).bytes(50_000)
    (stac_services.cog_root / "range.bin").write_bytes(data)
    with _get(f"{stac_services.http_url}/range.bin", "bytes=1000-1999") as response:
        assert response.status == 206
        assert response.headers["Content-Range"] == "bytes 1000-1999/50000"
        assert response.read() == data[1000:2000]
    assert _records(stac_services, "/range.bin", 1) == [
        AccessRecord("GET", "/range.bin", 206, 1000, "bytes=1000-1999")
    ]


def test_gdal_reads_one_block_of_a_cog_through_nginx(stac_services: StacServices) -> None:
    """rasterio (GDAL /vsicurl/) reads a 256 x 256 block of a 1024 x 1024 COG with
    Range requests: the values are the file's, and far fewer bytes than the file's
    are served (noise does not compress: each block is ~128 kB of the ~2 MB)."""
    values = np.random.default_rng(1).integers(0, 10_000, (1024, 1024), dtype=np.uint16)
    path = stac_services.cog_root / "noise_cog.tif"
    profile = {
        "driver": "COG",
        "width": 1024,
        "height": 1024,
        "count": 1,
        "dtype": "uint16",
        "crs": "EPSG:32632",
        "transform": from_origin(600_000, 5_000_000, 30, 30),
    }
    with rasterio.open(path, "w", blocksize=256, compress="deflate", **profile) as dst:
        dst.write(values, 1)
    window = Window(256, 512, 256, 256)
    with rasterio.Env(GDAL_DISABLE_READDIR_ON_OPEN="EMPTY_DIR"):
        with rasterio.open(f"{stac_services.http_url}/noise_cog.tif") as src:
            block = src.read(1, window=window)
    np.testing.assert_array_equal(block, values[512:768, 256:512])
    records = _records(stac_services, "/noise_cog.tif", 1)
    assert all(r.status == 206 and r.range is not None for r in records if r.method == "GET")
    assert 256 * 256 * 2 * 0.5 < served_bytes(stac_services.access_log, "/noise_cog.tif")
    assert served_bytes(stac_services.access_log, "/noise_cog.tif") < path.stat().st_size / 4


def test_served_bytes_sums_one_file(tmp_path: Path) -> None:
    log = tmp_path / "access.log"
    log.write_text(
        "GET\t/a.tif\t206\t16384\tbytes=0-16383\n"
        "GET\t/b.tif\t200\t999\t-\n"
        "GET\t/a.tif\t206\t100\tbytes=16384-16483\n"
        "HEAD\t/a.tif\t200\t0\t-\n"
    )
    assert served_bytes(log, "/a.tif") == 16484
    assert served_bytes(log, "/b.tif") == 999
    assert served_bytes(log, "/c.tif") == 0
    assert access_records(log)[1] == AccessRecord("GET", "/b.tif", 200, 999, None)


def test_missing_file_answers_404(stac_services: StacServices) -> None:
    with pytest.raises(urllib.error.HTTPError) as error:
        _get(f"{stac_services.http_url}/no/such/file.tif")
    assert error.value.code == 404
    assert _records(stac_services, "/no/such/file.tif", 1)[0].status == 404


def test_drop_path_closes_after_the_cut(stac_services: StacServices) -> None:
    """``/drop/`` announces the whole length, then ends after ``drop_after`` bytes."""
    data = np.random.default_rng(2).bytes(100_000)
    (stac_services.cog_root / "dropped.bin").write_bytes(data)
    cut = stac_services.drop_after
    with _get(f"{stac_services.http_url}/drop/dropped.bin") as response:
        assert response.status == 200
        assert response.headers["Content-Length"] == "100000"
        with pytest.raises(http.client.IncompleteRead) as short:
            response.read()
    assert short.value.partial == data[:cut]
    with _get(f"{stac_services.http_url}/drop/dropped.bin", "bytes=5000-9999") as response:
        assert response.status == 206
        assert response.headers["Content-Range"] == "bytes 5000-9999/100000"
        with pytest.raises(http.client.IncompleteRead) as short:
            response.read()
    assert short.value.partial == data[5000 : 5000 + cut]
    sent = [r.body_bytes for r in _records(stac_services, "/drop/dropped.bin", 2)]
    assert sent == [cut, cut]


def test_drop_once_path_serves_in_full_the_second_time(stac_services: StacServices) -> None:
    data = np.random.default_rng(3).bytes(30_000)
    (stac_services.cog_root / "flaky.bin").write_bytes(data)
    url = f"{stac_services.http_url}/drop-once/test-token/flaky.bin"
    with _get(url, "bytes=0-19999") as response, pytest.raises(http.client.IncompleteRead):
        response.read()
    with _get(url, "bytes=0-19999") as response:
        assert response.read() == data[:20000]
    records = _records(stac_services, "/drop-once/test-token/flaky.bin", 2)
    assert [r.body_bytes for r in records] == [stac_services.drop_after, 20000]


def test_byte_range_of_the_dropping_server() -> None:
    assert byte_range(None, 100) is None
    assert byte_range("bytes=0-9", 100) == (0, 9)
    assert byte_range("bytes=90-", 100) == (90, 99)
    assert byte_range("bytes=-10", 100) == (90, 99)
    assert byte_range("bytes=95-200", 100) == (95, 99)
    for bad in ("bytes=100-", "bytes=1-2,5-6", "bytes=-", "items=0-1"):
        with pytest.raises(ValueError):
            byte_range(bad, 100)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def _children(pid: int) -> list[int]:
    path = Path(f"/proc/{pid}/task/{pid}/children")
    return [int(p) for p in path.read_text().split()] if path.exists() else []


def test_stop_ends_every_process_and_removes_the_folder(
    stac_services: StacServices, tmp_path: Path
) -> None:
    """A second, separate set of services (the session's fixture proves they can start)."""
    with StacServices(tmp_path) as services:
        pids = list(services.pids.values())
        backends = _children(services.pids["postgres"])
        base = services.base
        assert base is not None and base.is_dir()
        assert len(pids) == 4 and len(backends) >= 4  # postgres' checkpointer, walwriter, ...
    assert [pid for pid in pids + backends if _alive(pid)] == []
    assert not base.exists()


def test_missing_software_is_named(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(PYTHON_MODULES, "no_such_module_xyz", "no-such-package")
    with pytest.raises(ServicesUnavailable, match="no-such-package.*stac-server"):
        check_prerequisites()
