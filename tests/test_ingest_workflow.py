"""Dry runs of the workflow with bad ingest inputs: they stop before any job, naming the cause."""

import pytest
import yaml
from _ingest_scenes import write_inventories
from workflow_helpers import prepare_workdir, snakemake

from agrifactory.ingest.rules import ingest_outputs
from agrifactory.plan import plan_tiles

pytestmark = pytest.mark.workflow


def _dry_run(workdir, config, *targets):
    (workdir / "config/probe.yaml").write_text(yaml.safe_dump(config))
    done = snakemake(workdir, "-n", *targets, configfile="config/probe.yaml", timeout=300)
    return done.returncode, done.stdout + done.stderr


def test_year_before_modis_stops_the_dry_run_naming_the_mission(tmp_path):
    workdir = prepare_workdir(tmp_path)
    config = yaml.safe_load((workdir / "config/test.yaml").read_text())
    rc, out = _dry_run(workdir, {**config, "years": [1990]})
    assert rc != 0 and "years [1990]: before MODIS" in out
    assert "Terra MODIS data start on 2000-02-24" in out
    assert not (workdir / "results").exists()


def test_deleted_scene_stops_the_dry_run_naming_the_file(tmp_path):
    workdir = prepare_workdir(tmp_path / "run")
    config = {
        "demo": False,
        "grid": {"tile_km": 15, "aoi_bbox": [114.0, 41.48, 114.28, 41.72]},
        "soil_moisture": {"enabled": False},
        "inputs": {
            **write_inventories(tmp_path / "data"),
            "statistics": {"province": None, "county": None},
        },
    }
    tile = plan_tiles({**config["grid"], "mode": "aoi"})[0].id
    target = ingest_outputs(f"results/tiles/{tile}/2021/ingest")["qa"]
    rc, out = _dry_run(workdir, config, target)
    assert rc == 0, out[-3000:]
    assert "rule ingest:" in out
    deleted = tmp_path / "data/modis/MOD09Q1.A2021161.h26v04.061.NDVI.tif"
    deleted.unlink()
    rc, out = _dry_run(workdir, config, target)
    assert rc != 0 and str(deleted) in out and "inputs.modis_inventory" in out
