"""The ingest stage's contract: settings model, output names, the rule's run function."""

from pathlib import Path
from types import SimpleNamespace

import pandas as pd
import pytest
import yaml
from _ingest_scenes import make_scenes

from agrifactory.errors import ConfigError
from agrifactory.ingest import rules
from agrifactory.ingest.rules import INGEST_STACKS, OUTPUTS, IngestSettings, ingest_outputs


def test_defaults_come_from_the_model_and_match_the_shipped_config(repo_root):
    defaults = IngestSettings()
    assert defaults.bad_scene == "fail" and set(defaults.mask) == set(rules.DEFAULT_MASK)
    shipped = yaml.safe_load((repo_root / "config/config.yaml").read_text())["ingest"]
    assert IngestSettings.build(shipped, "ingest") == defaults


def test_unknown_key_is_refused_with_a_suggestion():
    with pytest.raises(
        ConfigError, match=r"ingest.bad_scenes: unknown key \(did you mean 'bad_scene'"
    ):
        IngestSettings.build({"bad_scenes": "skip"}, "ingest")


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ({"bad_scene": "ignore"}, r"ingest.bad_scene = 'ignore': .*'fail' or 'skip'"),
        ({"margin_days": -1}, r"ingest.margin_days = -1: .*greater than or equal to 0"),
        ({"resampling": "lanczos"}, r"ingest.resampling = 'lanczos'"),
    ],
)
def test_bad_values_name_the_key_and_what_is_allowed(values, message):
    with pytest.raises(ConfigError, match=message):
        IngestSettings.build(values, "ingest")


def test_settings_are_frozen():
    with pytest.raises(ValueError, match="frozen"):
        IngestSettings().bad_scene = "skip"  # type: ignore[misc]


def test_output_names_are_declared_once():
    assert list(OUTPUTS) == [*INGEST_STACKS, "inventory", "qa"]
    paths = ingest_outputs("results/tiles/{tile}/{year}/ingest")
    assert paths["qa"] == "results/tiles/{tile}/{year}/ingest/qa.csv"
    assert paths["landsat_ndvi"] == "results/tiles/{tile}/{year}/ingest/landsat_ndvi.tif"
    # The workflow takes its names from here, not from a copy.
    common = Path(rules.__file__.rsplit("/src/", 1)[0]) / "workflow" / "rules" / "common"
    text = "\n".join(p.read_text(encoding="utf-8") for p in sorted(common.glob("*.smk")))
    assert "landsat_qa_radsat" not in text and "from agrifactory.ingest.rules import" in text


def test_run_function_takes_a_snakemake_job(tmp_path):
    inv, _ = make_scenes(tmp_path)
    records = inv.drop(columns=["geometry", "footprint"]).astype(str)
    out = {name: str(tmp_path / "out" / file) for name, file in OUTPUTS.items()}

    class Output(dict):
        pass

    job = SimpleNamespace(
        params=SimpleNamespace(
            ingest={"resampling": "nearest", "bad_scene": "fail"},
            tile_km=6,
            landsat=[
                {**r, "files": "x"} for r in records.query("sensor == 'landsat'").to_dict("records")
            ],
            modis=records.query("sensor == 'modis'").to_dict("records"),
        ),
        wildcards=SimpleNamespace(tile="h624v246", year="2021"),
        output=Output(out),
        log=[str(tmp_path / "ingest.log")],
    )
    rules.ingest(job)
    table = pd.read_csv(out["inventory"])
    assert table["sensor"].tolist() == ["landsat", "landsat", "modis"]
    qa = pd.read_csv(out["qa"])
    # The fixture's second scene has no blue band; its composite has no scale tag.
    assert qa["problem"].tolist() == ["missing_bands", "no_scale_tag"]
    assert "not under SLURM" in (tmp_path / "ingest.log").read_text()
