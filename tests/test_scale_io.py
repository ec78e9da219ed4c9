"""Atomic writes leave nothing behind after a kill; equal content gives equal bytes; job logs say where they ran."""

import hashlib
import logging
import sqlite3
import sys
import time

import geopandas as gpd
import numpy as np
import pytest
import shapely
from affine import Affine

from agrifactory.errors import InputError
from agrifactory.grid import Tile
from agrifactory.io.files import atomic_path, stale_temporaries, temporary_sibling
from agrifactory.io.raster import stack_writer, write_raster
from agrifactory.io.vector import GPKG_TIMESTAMP, write_gpkg
from agrifactory.logs import setup_logging, where_running
from agrifactory.manifest import (
    compare_manifests,
    product_files,
    read_manifest,
    sha256_file,
    write_manifest,
)


def digest(path):
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_a_killed_writers_temporaries_are_removed_by_the_next_writer(tmp_path):
    out = tmp_path / "stack.tif"
    # What a SIGKILLed job leaves: its temporaries, under hidden names, no final file.
    left = [temporary_sibling(out), temporary_sibling(out, tag="staging")]
    other = temporary_sibling(tmp_path / "stack.b.tif")  # another output's, must stay
    for p in [*left, other]:
        p.write_bytes(b"half a file")
    assert stale_temporaries(out) == [left[0]]
    assert stale_temporaries(out, tag="staging") == [left[1]]
    with atomic_path(out) as tmp:
        tmp.write_text("complete")
    assert out.read_text() == "complete"
    assert not left[0].exists() and left[1].exists() and other.exists()


def test_raster_stack_writer_clears_its_staging_leftovers(tmp_path):
    out = tmp_path / "ndvi.tif"
    stale = temporary_sibling(out, tag="staging")
    stale.write_bytes(b"\0" * 100)
    grid = Tile(625, 245, 6).grid(res=1000.0)
    with stack_writer(out, grid, count=2, dtype=np.float32, nodata=np.nan) as w:
        for i in (1, 2):
            w.write_band(i, np.full(grid.shape, i, np.float32))
    assert out.exists() and [p.name for p in tmp_path.iterdir()] == ["ndvi.tif"]


def test_geopackage_bytes_depend_only_on_content(tmp_path):
    gdf = gpd.GeoDataFrame(
        {"adcode": ["130000", "150000"], "name": ["Hebei", "Nei Mongol"]},
        geometry=[shapely.box(0, 0, 1, 1), shapely.box(1, 0, 2, 1)],
        crs="EPSG:4326",
    )
    first = write_gpkg(gdf, tmp_path / "a.gpkg", "units")
    time.sleep(0.05)  # GDAL would stamp the time of writing (in ms) into the file
    second = write_gpkg(gdf, tmp_path / "b.gpkg", "units")
    assert digest(first) == digest(second)
    gdf.to_file(tmp_path / "plain.gpkg", layer="units", driver="GPKG")  # the default: stamped
    assert digest(tmp_path / "plain.gpkg") != digest(first)
    with sqlite3.connect(first) as db:
        assert db.execute("select last_change from gpkg_contents").fetchone()[0] == GPKG_TIMESTAMP
    assert gpd.read_file(first)["name"].tolist() == ["Hebei", "Nei Mongol"]


def test_cog_bytes_depend_only_on_content(tmp_path):
    data = np.arange(60, dtype=np.float32).reshape(2, 5, 6)
    kw = dict(transform=Affine(30, 0, 0, 0, -30, 0), crs="EPSG:3857", nodata=np.nan)
    a = write_raster(tmp_path / "a.tif", data, band_names=["2021-01-01", "2021-01-09"], **kw)
    b = write_raster(tmp_path / "b.tif", data, band_names=["2021-01-01", "2021-01-09"], **kw)
    assert digest(a) == digest(b)


def test_manifest_holds_every_product_but_logs_benchmarks_and_hidden_files(tmp_path, monkeypatch):
    results = tmp_path / "results"
    files = {
        "tiles/h1v1/2021/ingest/ndvi.tif": b"pixels",
        "tiles.gpkg": b"index",
        "logs/ingest/h1v1_2021.log": b"10:00 started",
        "benchmarks/ingest/h1v1_2021.tsv": b"s\tmax_rss",
        "tiles/h1v1/2021/ingest/.ndvi.0123456789ab.tmp.tif": b"half",
        "tiles/.snakemake_timestamp": b"",
    }
    for rel, content in files.items():
        (results / rel).parent.mkdir(parents=True, exist_ok=True)
        (results / rel).write_bytes(content)
    monkeypatch.chdir(tmp_path)
    sums = write_manifest("results", "results/manifest.sha256")
    assert sorted(sums) == ["results/tiles.gpkg", "results/tiles/h1v1/2021/ingest/ndvi.tif"]
    assert sums["results/tiles.gpkg"] == hashlib.sha256(b"index").hexdigest()
    text = (results / "manifest.sha256").read_text()
    assert text.splitlines()[0] == f"{hashlib.sha256(b'index').hexdigest()}  results/tiles.gpkg"
    assert read_manifest(results / "manifest.sha256") == sums
    # The manifest is not a product of itself, so writing it again changes nothing.
    assert write_manifest("results", "results/manifest.sha256") == sums
    assert product_files(results, exclude=[]) == sorted(
        [results / r for r in files if "/." not in "/" + r] + [results / "manifest.sha256"],
        key=lambda p: p.as_posix(),
    )
    assert sha256_file(results / "tiles.gpkg") == sums["results/tiles.gpkg"]


def test_manifest_differences_are_named():
    a = {"results/x.tif": "1" * 64, "results/y.tif": "2" * 64}
    b = {"results/x.tif": "3" * 64, "results/z.tif": "2" * 64}
    assert compare_manifests(a, a) == []
    assert compare_manifests(a, b) == [
        "only in the first: results/y.tif",
        "only in the second: results/z.tif",
        "content differs: results/x.tif",
    ]


def test_bad_manifest_line_is_named(tmp_path):
    path = tmp_path / "m.sha256"
    path.write_text("abc results/x.tif\n")
    with pytest.raises(InputError, match="line 1 is not"):
        read_manifest(path)


def test_job_log_says_where_it_ran(tmp_path, monkeypatch):
    monkeypatch.setenv("SLURM_JOB_ID", "4711")
    monkeypatch.setattr(sys, "excepthook", sys.excepthook)  # setup_logging replaces it
    assert where_running().startswith("SLURM_JOB_ID=4711 on ")
    setup_logging(tmp_path / "job.log")
    logging.getLogger("agrifactory.test").info("working")
    for handler in logging.getLogger().handlers[:]:
        handler.close()
        logging.getLogger().removeHandler(handler)
    lines = (tmp_path / "job.log").read_text().splitlines()
    assert "SLURM_JOB_ID=4711 on" in lines[0] and "working" in lines[1]
    monkeypatch.delenv("SLURM_JOB_ID")
    assert where_running().startswith("not under SLURM, on ")


def test_torch_file_bytes_depend_only_on_content(tmp_path):
    import torch

    from agrifactory.io.torchfile import save_torch

    obj = {"w": torch.arange(6, dtype=torch.float32), "meta": {"epochs": 3}}
    a = save_torch(obj, tmp_path / "a.pt")
    b = save_torch(obj, tmp_path / "sub" / "b.pt")  # the file name is not in the bytes
    assert digest(a) == digest(b)
    assert torch.equal(torch.load(a)["w"], obj["w"])
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.pt", "sub"]
