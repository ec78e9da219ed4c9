"""The workflow through a live STAC API: products identical to the same config read from files.

The demo run of config/test.yaml (fixture ``demo_run``) makes the scenes; they are
published as COGs served by nginx and as items in stac-fastapi-pgstac (fixture
``stac_services``, real processes started by tools/ and stopped by PID). A second
run of the same config with ``inputs.source: stac`` searches the API (rule acquire),
reads each tile's window of every asset over HTTP and must give the same products.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
import yaml
from _stac_demo import publish_demo
from workflow_helpers import prepare_workdir, snakemake

pytestmark = pytest.mark.workflow

#: What differs between the two runs by design: the demo's own scene files and their
#: inventories (the STAC run reads the served copies), and what rule acquire wrote.
NOT_COMPARED = ("results/demo/inputs/landsat/", "results/demo/inputs/modis/", "results/acquire/")
NOT_COMPARED_FILES = {
    "results/demo/inputs/landsat_inventory.csv",
    "results/demo/inputs/modis_inventory.csv",
}


def _manifest(workdir: Path) -> dict[str, str]:
    lines = (workdir / "results/manifest.sha256").read_text().splitlines()
    return {path: digest for digest, path in (ln.split("  ", 1) for ln in lines)}


def _compared(manifest: dict[str, str]) -> dict[str, str]:
    return {
        p: d
        for p, d in manifest.items()
        if not p.startswith(NOT_COMPARED) and p not in NOT_COMPARED_FILES
    }


@pytest.fixture(scope="module")
def stac_run(demo_run, stac_services, tmp_path_factory):
    acquire = publish_demo(demo_run, stac_services)
    workdir = prepare_workdir(tmp_path_factory.mktemp("stac_run"))
    extra = {"inputs": {"source": "stac"}, "acquire": acquire}
    (workdir / "config/stac.yaml").write_text(yaml.safe_dump(extra))
    result = snakemake(
        workdir, "--cores", "2", "--configfile", "config/test.yaml", "config/stac.yaml"
    )
    assert result.returncode == 0, (result.stdout + result.stderr)[-4000:]
    return workdir


def test_products_through_stac_equal_the_products_from_files(demo_run, stac_run):
    from_files, through_stac = _manifest(demo_run), _manifest(stac_run)
    compared = _compared(from_files)
    assert len(compared) > 100
    assert _compared(through_stac) == compared
    assert any(p.startswith("results/acquire/2021/") for p in through_stac)


def test_acquired_inventory_lists_every_scene_with_asset_urls(demo_run, stac_run, stac_services):
    files = pd.read_csv(demo_run / "results/demo/inputs/landsat_inventory.csv")
    found = pd.read_csv(stac_run / "results/acquire/2021/landsat_inventory.csv")
    assert sorted(found["id"]) == sorted(files["id"])
    assert found["assets"].str.contains(stac_services.http_url).all()
    modis = pd.read_csv(stac_run / "results/acquire/2021/modis_inventory.csv")
    assert len(modis) == len(pd.read_csv(demo_run / "results/demo/inputs/modis_inventory.csv"))


def test_the_stac_run_read_the_scenes_over_http(stac_run, stac_services):
    from agrifactory.testing.cog_server import access_records

    records = access_records(stac_services.access_log)
    partial = [r for r in records if r.status == 206]
    assert partial, "no range request reached nginx"
    assert not (stac_run / "results/demo/inputs/landsat").exists()
