"""The workflow through a live STAC API: products identical to the same config read from files.

The demo run of config/test.yaml (fixture ``demo_run``) makes the scenes; they are
published as COGs served by nginx and as items in stac-fastapi-pgstac (fixture
``stac_services``, real processes started by agrifactory.testing and stopped by PID).
A second run of the same config with ``inputs.source: stac`` searches the API (rule
acquire), reads each tile's window of every asset over HTTP, and must give the same
products. It runs the stage that reads the scenes and the per-tile stage that scores
them (ingest, quality: ``--until quality``); every later product (fusion, composites,
...) is a deterministic function of these, so the comparison stops there and the test
stays minutes shorter (the fusion of four tiles was about half of its run).
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import pandas as pd
import pytest
import yaml
from _stac_demo import publish_demo
from workflow_helpers import prepare_workdir, snakemake

pytestmark = [pytest.mark.workflow, pytest.mark.early]

#: The per-tile stages whose products are compared.
STAGES = ("ingest", "quality")


def _products(workdir: Path) -> dict[str, str]:
    """SHA-256 of every file of :data:`STAGES` under the run's tiles (as the manifest hashes)."""
    tiles = workdir / "results/tiles"
    return {
        str(f.relative_to(workdir)): hashlib.sha256(f.read_bytes()).hexdigest()
        for stage in STAGES
        for f in sorted(tiles.glob(f"*/*/{stage}/*"))
        if f.is_file() and not f.name.startswith(".")
    }


@pytest.fixture(scope="module")
def stac_run(demo_run, stac_services, tmp_path_factory):
    acquire = publish_demo(demo_run, stac_services)
    workdir = prepare_workdir(tmp_path_factory.mktemp("stac_run"))
    extra = {"inputs": {"source": "stac"}, "acquire": acquire}
    (workdir / "config/stac.yaml").write_text(yaml.safe_dump(extra))
    result = snakemake(
        workdir,
        "--cores",
        "2",
        "--until",
        "quality",
        "--configfile",
        "config/test.yaml",
        "config/stac.yaml",
    )
    assert result.returncode == 0, (result.stdout + result.stderr)[-4000:]
    return workdir


def test_products_through_stac_equal_the_products_from_files(demo_run, stac_run):
    from_files, through_stac = _products(demo_run), _products(stac_run)
    manifest = (demo_run / "results/manifest.sha256").read_text()
    # The same files as the file-based run's manifest lists for these stages, byte for byte.
    assert len(from_files) > 60 and all(p in manifest for p in from_files)
    assert through_stac == from_files


def test_acquired_inventory_lists_every_scene_with_asset_urls(demo_run, stac_run, stac_services):
    files = pd.read_csv(demo_run / "results/demo/inputs/inventory/2021/landsat_inventory.csv")
    found = pd.read_csv(stac_run / "results/acquire/2021/landsat_inventory.csv")
    assert sorted(found["id"]) == sorted(files["id"])
    assert found["assets"].str.contains(stac_services.http_url).all()
    modis = pd.read_csv(stac_run / "results/acquire/2021/modis_inventory.csv")
    assert len(modis) == len(
        pd.read_csv(demo_run / "results/demo/inputs/inventory/2021/modis_inventory.csv")
    )


def test_the_stac_run_read_the_scenes_over_http(stac_run, stac_services):
    from agrifactory.testing.cog_server import access_records

    records = access_records(stac_services.access_log)
    partial = [r for r in records if r.status == 206]
    assert partial, "no range request reached nginx"
    assert not (stac_run / "results/demo/inputs/landsat").exists()
