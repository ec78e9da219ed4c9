"""config/china.yaml builds its DAG over every mainland tile (dry run, placeholder inputs)."""

import re

import pytest
import yaml
from workflow_helpers import prepare_workdir, snakemake

from agrifactory.grid import Tile
from agrifactory.plan import read_tile_list
from agrifactory.synthetic.placeholders import placeholder_config

pytestmark = pytest.mark.workflow


def test_china_config_dry_runs_over_every_mainland_tile(tmp_path):
    workdir = prepare_workdir(tmp_path / "run")
    config = yaml.safe_load((workdir / "config/china.yaml").read_text())
    ids = read_tile_list(workdir / config["grid"]["tiles_file"])
    tiles = [Tile.from_id(t, config["grid"]["tile_km"]) for t in ids]
    inputs = placeholder_config(tiles, 2021, 40, tmp_path / "placeholders")
    config["inputs"].update(inputs["inputs"])
    (workdir / "config/china-dry.yaml").write_text(yaml.safe_dump(config))

    done = snakemake(
        workdir, "-n", "--quiet", "rules", configfile="config/china-dry.yaml", timeout=900
    )
    assert done.returncode == 0, (done.stdout + done.stderr)[-3000:]
    counts = dict(re.findall(r"^(\w+)\s+(\d+)$", done.stdout, re.M))
    assert len(ids) == 830
    assert int(counts["ingest"]) == len(ids)  # one job per tile and year
    assert int(counts["tiles"]) == 1 and int(counts["manifest"]) == 1
    assert not (workdir / "results").exists()  # a dry run writes nothing
