"""The classify section's settings model (agrifactory.classify.rules): its defaults are
the hand schema's, bad values and misspelled keys give short messages with the key's
path, and the contract module stays light and free of import cycles."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml
from pydantic import BaseModel

from agrifactory.classify.rules import ClassifySettings, section
from agrifactory.errors import ConfigError

REPO = Path(__file__).resolve().parents[1]
CLASSIFY_DIR = REPO / "src/agrifactory/classify"


def _schema_defaults(node: dict[str, Any]) -> Any:
    """The defaults a JSON schema object fills in (nested objects expanded)."""
    if node.get("type") == "object" and "properties" in node:
        return {k: _schema_defaults(v) for k, v in node["properties"].items()}
    return node.get("default")


def test_the_defaults_are_the_hand_schemas():
    schema = yaml.safe_load((REPO / "workflow/schemas/config.schema.yaml").read_text())
    expected = _schema_defaults(schema["properties"]["classify"])
    assert ClassifySettings().model_dump() == expected


def _descriptions(model: type[BaseModel], schema: dict[str, Any], path: str) -> list[tuple]:
    """(key path, model description, schema description) of every key, words normalised."""
    out = []
    for key, node in schema["properties"].items():
        field = model.model_fields[key]
        words = (" ".join((field.description or "").split()), " ".join(node["description"].split()))
        out.append((f"{path}.{key}", *words))
        if isinstance(field.annotation, type) and issubclass(field.annotation, BaseModel):
            out += _descriptions(field.annotation, node, f"{path}.{key}")
    return out


def test_the_descriptions_are_the_hand_schemas():
    schema = yaml.safe_load((REPO / "workflow/schemas/config.schema.yaml").read_text())
    rows = _descriptions(ClassifySettings, schema["properties"]["classify"], "classify")
    assert len(rows) > 50
    assert [r for r in rows if r[1] != r[2]] == []
    assert "excluded.csv" in ClassifySettings.model_fields["strict_labels"].description


BOUNDS = ("minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum")


def _constraints(node: dict[str, Any], defs: dict[str, Any]) -> dict[str, Any]:
    """Bounds and allowed values of a schema node, over its anyOf / oneOf branches."""
    if "$ref" in node:
        node = defs[node["$ref"].rsplit("/", 1)[1]]
    out: dict[str, Any] = {k: node[k] for k in BOUNDS if k in node}
    values = list(node.get("enum", [])) + ([node["const"]] if "const" in node else [])
    for branch in node.get("anyOf", []) + node.get("oneOf", []):
        sub = _constraints(branch, defs)
        values += sub.pop("values", [])
        out.update(sub)
    if values:
        out["values"] = sorted(values, key=str)
    return out


def _ranges(hand: dict[str, Any], generated: dict[str, Any], defs: dict, path: str) -> list:
    rows = []
    for key, node in hand["properties"].items():
        gen = generated["properties"][key]
        target = defs[gen["$ref"].rsplit("/", 1)[1]] if "$ref" in gen else gen
        if "properties" in node and "properties" in target:
            rows += _ranges(node, target, defs, f"{path}.{key}")
        else:
            want = _constraints(node, {})
            if "values" in want and None in want["values"]:
                want["values"].remove(None)  # null is a type here, not a value
            got = _constraints(gen, defs)
            rows.append((f"{path}.{key}", want, got))
    return rows


def test_the_ranges_and_allowed_values_are_the_hand_schemas():
    schema = yaml.safe_load((REPO / "workflow/schemas/config.schema.yaml").read_text())
    generated = ClassifySettings.model_json_schema()
    rows = _ranges(schema["properties"]["classify"], generated, generated["$defs"], "classify")
    assert any(want for _, want, _ in rows)
    assert [r for r in rows if r[1] != r[2]] == []


def test_an_empty_section_builds_every_default():
    built = section()
    assert built == ClassifySettings()
    assert built.strict_labels is False
    # the compared models: the product is the ensemble, so all three are compared with it
    assert built.croptype.kind == "ensemble"
    assert [m.label for m in built.croptype.comparisons()] == ["lightgbm", "cnn1d", "cnn2d"]


@pytest.mark.parametrize(
    ("values", "expected"),
    [
        ({"min_count": 0}, "classify.min_count = 0: Input should be greater than or equal to 1"),
        (
            {"accuracy": {"sample_size": "many"}},
            "classify.accuracy.sample_size = 'many': Input should be a valid integer",
        ),
        (
            {"active_learning": {"simulation": {"initial": 1}}},
            "classify.active_learning.simulation.initial = 1: Input should be greater than or "
            "equal to 2",
        ),
        (
            {"transfer": {"augment": {"augment_p": 1.5}}},
            "classify.transfer.augment.augment_p = 1.5: Input should be less than or equal to 1",
        ),
        (
            {"samples": {"validation_fraction": 1.0}},
            "classify.samples.validation_fraction = 1.0: Input should be less than 1",
        ),
    ],
)
def test_a_bad_value_names_its_key_path_and_what_is_allowed(values, expected):
    with pytest.raises(ConfigError) as info:
        ClassifySettings.build(values, "classify")
    message = str(info.value)
    assert expected in message
    assert len(message.splitlines()) < 10


def test_a_wrong_model_kind_lists_the_kinds():
    with pytest.raises(ConfigError, match=r"classify\.croptype\.kind = 'cnn'.*'lightgbm'"):
        section(croptype={"kind": "cnn"})


@pytest.mark.parametrize(
    ("values", "expected"),
    [
        (
            {"strict_label": True},
            "classify.strict_label: unknown key (did you mean 'strict_labels'?)",
        ),
        (
            {"accuracy": {"sample_sise": 10}},
            "classify.accuracy.sample_sise: unknown key (did you mean 'sample_size'?)",
        ),
        (
            {"samples": {"label_columns": {"crop_type": "c"}}},
            "classify.samples.label_columns.crop_type: unknown key (did you mean 'croptype'?)",
        ),
    ],
)
def test_a_misspelled_key_names_its_path_and_the_nearest_name(values, expected):
    with pytest.raises(ConfigError) as info:
        ClassifySettings.build(values, "classify")
    assert expected in str(info.value)
    assert len(str(info.value).splitlines()) < 10


def test_transfer_needs_both_regions_or_neither():
    with pytest.raises(
        ConfigError, match=r"classify\.transfer\.source and classify\.transfer\.target"
    ):
        section(transfer={"source": "west"})
    assert section(transfer={"source": "west", "target": "east"}).transfer.target == "east"


def test_regions_are_a_scheme_name_or_a_mapping():
    assert section(regions={"a": ["h1v1"]}).regions == {"a": ["h1v1"]}
    with pytest.raises(ConfigError, match=r"classify\.regions"):
        section(regions="north_south")


def test_the_settings_are_frozen():
    built = section()
    with pytest.raises(Exception, match="frozen"):
        built.min_count = 2


def test_the_contract_imports_no_heavy_library():
    code = (
        "import sys\nimport agrifactory.classify.rules\n"
        "print(sorted(m for m in ('torch', 'lightgbm', 'sklearn', 'rasterio', 'geopandas') "
        "if m in sys.modules))"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]"


def _module_imports(path: Path) -> set[str]:
    """The agrifactory.classify modules that ``path`` imports at module level."""
    found = set()
    for node in ast.parse(path.read_text()).body:
        if isinstance(node, ast.ImportFrom) and node.module:
            if node.module == "agrifactory.classify":
                found |= {a.name for a in node.names}
            elif node.module.startswith("agrifactory.classify."):
                found.add(node.module.rsplit(".", 1)[1])
        elif isinstance(node, ast.Import):
            found |= {
                a.name.rsplit(".", 1)[1]
                for a in node.names
                if a.name.startswith("agrifactory.classify.")
            }
    return found


def test_the_classify_modules_import_each_other_without_a_cycle():
    graph = {p.stem: _module_imports(p) for p in CLASSIFY_DIR.glob("*.py")}
    assert "models" in graph["transfer"] and "base" in graph["cnn"]
    assert "models" not in graph["cnn"]

    def visit(node: str, path: tuple[str, ...]) -> None:
        for nxt in sorted(graph.get(node, ())):
            assert nxt not in path, f"import cycle: {' -> '.join((*path, nxt))}"
            visit(nxt, (*path, nxt))

    for module in graph:
        visit(module, (module,))
