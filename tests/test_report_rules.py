"""The contracts of the aggregation, the report, the manifest and the demo world.

Settings models (defaults from the models, short errors naming the key path), the
manifest of declared outputs only, and the demo files that do not depend on the year.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
import yaml

from agrifactory.aggregate import rules as aggregate_rules
from agrifactory.aggregate.rules import AggregateSettings
from agrifactory.errors import ConfigError
from agrifactory.grid import Tile
from agrifactory.manifest import (
    DEFAULT_EXCLUDE,
    declared_matcher,
    pattern_regex,
    read_manifest,
    write_manifest,
)
from agrifactory.report import catalog
from agrifactory.report import rules as report_rules
from agrifactory.report.rules import ManifestSettings, ReportSettings
from agrifactory.synthetic import demo
from agrifactory.synthetic import rules as demo_rules
from agrifactory.synthetic.world import WorldSpec, build_world

REPO = Path(__file__).resolve().parents[1]
SCHEMA = REPO / "workflow" / "schemas" / "config.schema.yaml"
MODELS = {"aggregate": AggregateSettings, "report": ReportSettings, "manifest": ManifestSettings}


def _error(model, values: dict, key: str) -> str:
    with pytest.raises(ConfigError) as info:
        model.build(values, key)
    return str(info.value)


# --- settings ------------------------------------------------------------------------


def _schema_defaults(node: dict) -> dict:
    """The defaults a JSON schema's properties declare, nested."""
    out = {}
    for key, prop in node.get("properties", {}).items():
        out[key] = _schema_defaults(prop) if "properties" in prop else prop.get("default")
    return out


@pytest.mark.parametrize("section", sorted(MODELS))
def test_the_hand_schema_holds_the_models_defaults_and_keys(section):
    # The hand-written schema stays until it is generated: it must not drift meanwhile.
    schema = yaml.safe_load(SCHEMA.read_text(encoding="utf-8"))["properties"][section]
    assert _schema_defaults(schema) == MODELS[section]().model_dump(mode="json")


@pytest.mark.parametrize("section", sorted(MODELS))
def test_every_setting_is_described(section):
    def walk(model, path):
        for name, field in model.model_fields.items():
            assert field.description, f"{path}.{name} has no description"
            sub = field.annotation
            if isinstance(sub, type) and hasattr(sub, "model_fields"):
                walk(sub, f"{path}.{name}")

    walk(MODELS[section], section)


def test_empty_sections_take_the_models_defaults():
    settings = AggregateSettings.build({}, "aggregate")
    assert settings == AggregateSettings()
    assert settings.compare.unit in aggregate_rules.AreaUnit.__args__
    assert settings.compare.min_coverage == 0.8 and settings.compare.min_units_for_fit == 5
    assert ManifestSettings.build(None, "manifest").exclude == list(DEFAULT_EXCLUDE)


@pytest.mark.parametrize(
    ("model", "values", "key", "expected"),
    [
        (AggregateSettings, {"method": "majority"}, "aggregate", "aggregate.method = 'majority'"),
        (AggregateSettings, {"levels": ["city"]}, "aggregate", "aggregate.levels[0] = 'city'"),
        (
            AggregateSettings,
            {"compare": {"tolerance": 0}},
            "aggregate",
            "aggregate.compare.tolerance = 0: Input should be greater than 0",
        ),
        (
            AggregateSettings,
            {"compare": {"min_coverage": 1.5}},
            "aggregate",
            "aggregate.compare.min_coverage = 1.5",
        ),
        (
            AggregateSettings,
            {"compare": {"unit": "acre"}},
            "aggregate",
            "aggregate.compare.unit = 'acre'",
        ),
        (ReportSettings, {"soil_moisture_month": 13}, "report", "report.soil_moisture_month = 13"),
        (ReportSettings, {"ndvi_map_date": "7-28"}, "report", "report.ndvi_map_date = '7-28'"),
        (ReportSettings, {"ndvi_map_date": "02-30"}, "report", "is not a day of the year"),
        (ManifestSettings, {"exclude": "logs/*"}, "manifest", "manifest.exclude = 'logs/*'"),
    ],
)
def test_a_bad_value_is_one_short_line_naming_the_key(model, values, key, expected):
    message = _error(model, values, key)
    assert expected in message
    assert len(message.splitlines()) <= 2


@pytest.mark.parametrize(
    ("model", "values", "key", "expected"),
    [
        (AggregateSettings, {"methd": "centre"}, "aggregate", "aggregate.methd"),
        (
            AggregateSettings,
            {"compare": {"tolerence": 0.2}},
            "aggregate",
            "aggregate.compare.tolerence: unknown key (did you mean 'tolerance'?)",
        ),
        (
            ReportSettings,
            {"ndvi_map_day": "07-28"},
            "report",
            "report.ndvi_map_day: unknown key (did you mean 'ndvi_map_date'?)",
        ),
        (ManifestSettings, {"excludes": []}, "manifest", "(did you mean 'exclude'?)"),
    ],
)
def test_a_misspelled_key_names_its_path_and_the_nearest_name(model, values, key, expected):
    message = _error(model, values, key)
    assert expected in message
    assert len(message.splitlines()) <= 2


def test_the_ndvi_map_day_of_a_leap_day_falls_back_in_other_years():
    settings = ReportSettings(ndvi_map_date="02-29")
    assert str(settings.ndvi_map_day(2020)) == "2020-02-29"
    assert str(settings.ndvi_map_day(2021)) == "2021-02-28"
    assert str(ReportSettings().ndvi_map_day(2021)) == "2021-07-28"


# --- output names ----------------------------------------------------------------------


def test_aggregate_outputs_name_every_level_and_the_compared_ones_charts():
    out = aggregate_rules.aggregate_outputs("r/2021", ["province", "county"], ["province"])
    assert out["conservation"] == "r/2021/conservation.csv"
    assert out["county_areas"] == "r/2021/county_areas.csv"
    assert out["county_areas_html"] == "r/2021/county_areas.html"
    assert out["province_scatter"] == "r/2021/province_scatter.png"
    assert "county_comparison" not in out
    assert set(out) == {
        "conservation",
        "province_areas",
        "county_areas",
        "province_areas_html",
        "county_areas_html",
        *(f"province_{k}" for k in aggregate_rules.COMPARED_OUTPUTS),
    }


def test_the_catalog_and_the_mosaics_share_one_table_of_tile_files():
    for name, path in report_rules.TILE_PRODUCTS.items():
        assert catalog.PRODUCTS[name][2] == f"tiles/{{tile}}/{{year}}/{path}"
    assert set(report_rules.MOSAIC_PRODUCTS) < set(catalog.PRODUCTS)


def test_the_mosaic_rule_writes_a_vrt_of_the_tiles(tmp_path):
    from agrifactory.io.raster import write_raster

    tiles = [Tile.from_id(t, 6) for t in ("h625v245", "h626v245")]
    paths = []
    for t in tiles:
        g = t.grid()
        data = np.ones((g.height, g.width), dtype=np.uint8)
        paths.append(
            str(
                write_raster(
                    tmp_path / f"{t.id}.tif", data, transform=g.transform, crs=g.crs, nodata=255
                )
            )
        )
    job = SimpleNamespace(
        input=paths,
        output=[str(tmp_path / "cropland.vrt")],
        log=[str(tmp_path / "mosaic.log")],
        wildcards=SimpleNamespace(product="cropland"),
    )
    report_rules.mosaic(job)
    text = (tmp_path / "cropland.vrt").read_text()
    assert text.count("<SimpleSource") == 2 and "<CategoryNames>" in text


# --- the manifest ----------------------------------------------------------------------


def test_pattern_regex_follows_snakemakes_wildcards():
    assert re.fullmatch(pattern_regex("r/t/{tile}/{year}/a.csv"), "r/t/h1v1/2021/a.csv")
    assert not re.fullmatch(pattern_regex("r/t/{tile}/{year}/a.csv"), "r/t/h1v1/2021/a.csvx")
    constrained = pattern_regex(r"r/{year,\d{4}}.csv")
    assert re.fullmatch(constrained, "r/2021.csv")
    assert not re.fullmatch(constrained, "r/21.csv")
    # As Snakemake writes a pattern with the workflow's wildcard constraints in it.
    tile = pattern_regex(r"r/tiles/{tile,h\d{3,4}v\d{3,4}}/{year,\d{4}}/fusion/ndvi_8day.tif")
    assert re.fullmatch(tile, "r/tiles/h625v245/2021/fusion/ndvi_8day.tif")
    assert not re.fullmatch(tile, "r/tiles/x625v245/2021/fusion/ndvi_8day.tif")
    assert re.fullmatch(pattern_regex("r/models/{p}/model/"), "r/models/x/model/a/b.txt")
    assert not declared_matcher([]).fullmatch("r/anything")


def test_manifest_hashes_declared_outputs_only(tmp_path, monkeypatch):
    """report.html (snakemake --report) and a stray file change nothing in the manifest."""
    declared = [
        "results/tiles/{tile}/{year}/fusion/ndvi_8day.tif",
        "results/tiles.gpkg",
        "results/models/{product}/{region}/{year}/model/",  # a directory() output
        "results/logs/ignored/{x}.log",  # declared, but excluded by default
        "results/manifest.sha256",
    ]
    files = {
        "tiles/h1v1/2021/fusion/ndvi_8day.tif": b"pixels",
        "tiles.gpkg": b"index",
        "models/cropland/west/2021/model/booster.txt": b"trees",
        "logs/ignored/a.log": b"10:00",
    }
    results = tmp_path / "results"
    for rel, content in files.items():
        (results / rel).parent.mkdir(parents=True, exist_ok=True)
        (results / rel).write_bytes(content)
    monkeypatch.chdir(tmp_path)
    before = write_manifest("results", "results/manifest.sha256", declared=declared)
    text = (results / "manifest.sha256").read_text()
    assert sorted(before) == [
        "results/models/cropland/west/2021/model/booster.txt",
        "results/tiles.gpkg",
        "results/tiles/h1v1/2021/fusion/ndvi_8day.tif",
    ]
    assert before["results/tiles.gpkg"] == hashlib.sha256(b"index").hexdigest()
    # What `snakemake --report results/report.html` and a user leave in results/:
    (results / "report.html").write_text("<html>report</html>")
    (results / "notes.txt").write_text("mine")
    (results / "tiles/h1v1/2021/fusion/ndvi_8day.tif.aux.xml").write_text("<PAMDataset/>")
    after = write_manifest("results", "results/manifest.sha256", declared=declared)
    assert after == before
    assert (results / "manifest.sha256").read_text() == text
    assert read_manifest(results / "manifest.sha256") == before
    # Without declared outputs (a folder checked by hand) every file counts.
    assert "results/report.html" in write_manifest("results", "results/all.sha256")


def test_the_manifest_rule_passes_the_declared_outputs(tmp_path, monkeypatch):
    (tmp_path / "results").mkdir()
    (tmp_path / "results" / "a.csv").write_text("a")
    (tmp_path / "results" / "report.html").write_text("r")
    monkeypatch.chdir(tmp_path)
    job = SimpleNamespace(
        output=["results/manifest.sha256"],
        log=[str(tmp_path / "manifest.log")],
        threads=1,
        params=SimpleNamespace(exclude=list(DEFAULT_EXCLUDE), declared=["results/{name}.csv"]),
    )
    report_rules.manifest(job)
    assert list(read_manifest("results/manifest.sha256")) == ["results/a.csv"]


# --- the demo world and the year ---------------------------------------------------------

TILES = (Tile.from_id("h625v245", 6),)
DEMO_WORLD = {"margin_km": 0.6, "phenology_shift_days": 12}


def test_the_land_does_not_depend_on_the_year():
    land = build_world(demo.world_spec(DEMO_WORLD, TILES, None, 5))
    dated = build_world(demo.world_spec(DEMO_WORLD, TILES, 2021, 5))
    for name in ("landcover", "croptype", "irrigation", "field_id"):
        np.testing.assert_array_equal(getattr(land, name), getattr(dated, name))
    with pytest.raises(ValueError, match="without a year"):
        land.ndvi(dt.date(2021, 7, 1))


def test_the_land_truth_is_the_same_built_with_or_without_a_year(tmp_path):
    land = build_world(WorldSpec(tiles=TILES, year=None, seed=5, margin_km=0.6))
    dated = build_world(WorldSpec(tiles=TILES, year=2021, seed=5, margin_km=0.6))
    a = demo.write_class_truth(land, tmp_path / "a")
    b = demo.write_class_truth(dated, tmp_path / "b")
    assert [p.name for p in a.values()] == [f"{n}.tif" for n in demo_rules.TRUTH_CLASSES]
    for name in demo_rules.TRUTH_CLASSES:
        assert a[name].read_bytes() == b[name].read_bytes()
    with pytest.raises(ValueError, match="needs the world's year"):
        demo.write_ndvi_truth(land, tmp_path / "a")
    ndvi = demo.write_ndvi_truth(dated, tmp_path / "b")
    assert ndvi.name == f"{demo_rules.TRUTH_NDVI}.tif"


def test_no_demo_rule_takes_the_run_years_as_a_param():
    """The run's years never reach a demo rule's params: a year-dependent rule takes it
    from its own wildcard (year, calendar year, or the scene's date), so adding a year
    to the run does not change the params, and so the files, of the others."""
    text = (REPO / "workflow" / "rules" / "demo.smk").read_text()
    rules = dict(re.findall(r"^rule (\w+):\n(.*?)(?=^rule |\Z)", text, re.S | re.M))
    for name in ("demo_truth", "demo_samples", "demo_truth_year", "demo_modis"):
        assert "world=WORLD,\n" in rules[name], name
    assert "world=WORLD_SCENES,\n" in rules["demo_landsat_scene"]
    assert "{year}" in rules["demo_truth_year"] and "{cyear}" in rules["demo_modis"]
    common = (REPO / "workflow" / "rules" / "common" / "demo.smk").read_text()
    world = common[common.index("WORLD = {") : common.index("WORLD_SCENES = {")]
    assert "year" not in world.split("}")[0]
    assert "YEARS" not in common[common.index("WORLD_SCENES = {") :].split("\n")[0]
