"""Bad configs stop the run before any job, with a message that says what is wrong."""

import pytest
from workflow_helpers import prepare_workdir, snakemake

pytestmark = pytest.mark.workflow


def _run_with(tmp_path, text):
    workdir = prepare_workdir(tmp_path)
    (workdir / "config/bad.yaml").write_text(text)
    return snakemake(workdir, "-n", configfile="config/bad.yaml", timeout=300)


def test_config_key_of_the_wrong_type_names_key_and_value(tmp_path):
    result = _run_with(
        tmp_path,
        "demo: true\ngrid:\n  tile_km: fifteen\n  aoi_bbox: [114.0, 41.48, 114.28, 41.72]\n",
    )
    output = result.stdout + result.stderr
    assert result.returncode != 0
    assert "grid.tile_km = 'fifteen': Input should be a valid integer" in output
    assert not (tmp_path / "results").exists()


def test_unknown_config_key_is_refused_with_the_nearest_name(tmp_path):
    result = _run_with(tmp_path, "demo: true\ngird:\n  tile_km: 15\n")
    output = result.stdout + result.stderr
    assert result.returncode != 0
    assert "gird: unknown key (did you mean 'grid'?)" in output


def test_missing_input_file_is_named(tmp_path):
    result = _run_with(
        tmp_path,
        "demo: false\ngrid:\n  aoi_bbox: [114.0, 41.48, 114.28, 41.72]\ninputs:\n  landsat_inventory: data/none.csv\n  modis_inventory: data/none2.csv\n",
    )
    assert result.returncode != 0
    assert "inputs.landsat_inventory: file data/none.csv does not exist" in (
        result.stdout + result.stderr
    )


def test_tile_list_with_duplicates_is_named(tmp_path):
    (tmp_path / "tiles.txt").write_text("h249v098\nh249v098\n")
    result = _run_with(
        tmp_path, f"demo: true\ngrid:\n  tile_km: 15\n  tiles_file: {tmp_path / 'tiles.txt'}\n"
    )
    assert result.returncode != 0 and "duplicate tile ids h249v098" in (
        result.stdout + result.stderr
    )


def test_missing_given_scorer_is_named(tmp_path):
    result = _run_with(tmp_path, "quality:\n  scorer_weights: models/scorer_{year}.pt\n")
    out = result.stdout + result.stderr
    assert result.returncode != 0
    assert "quality.scorer_weights: models/scorer_2021.pt not found" in out
    assert not (tmp_path / "results").exists()
