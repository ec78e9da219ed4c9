"""Landsat Collection 2 Level-2 metadata files (``<product id>_MTL.json``, ``.xml``, ``.txt``).

Every C2 L2 scene ships its metadata three times: JSON (the groups nested under
``"LANDSAT_METADATA_FILE"``), XML (root element ``LANDSAT_METADATA_FILE``, one
element per group and per field) and ODL text (``GROUP = ...`` / ``END_GROUP``).
The values are text in all three. What the factory reads from them:

* ``PRODUCT_CONTENTS/LANDSAT_PRODUCT_ID``, checked against the scene's product id;
* ``IMAGE_ATTRIBUTES``: ``SPACECRAFT_ID`` (``LANDSAT_8``), ``SENSOR_ID``
  (``OLI_TIRS``, ``ETM``, ``TM``), ``DATE_ACQUIRED``, ``WRS_PATH``, ``WRS_ROW``;
* ``LEVEL2_SURFACE_REFLECTANCE_PARAMETERS``: ``REFLECTANCE_MULT_BAND_n`` and
  ``REFLECTANCE_ADD_BAND_n`` (scale and offset of ``SR_Bn``);
* ``LEVEL2_SURFACE_TEMPERATURE_PARAMETERS``: ``TEMPERATURE_MULT_BAND_ST_B10`` and
  ``TEMPERATURE_ADD_BAND_ST_B10`` (``ST_B6`` for TM/ETM+).

References: Landsat 8-9 Collection 2 Level-2 Science Product Guide (LSDS-1619) and
Landsat 4-7 guide (LSDS-1618), section "Level-2 Metadata" and the MTL field lists.
"""

from __future__ import annotations

import datetime as dt
import json
import re
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any
from urllib.parse import urlparse

from agrifactory.errors import InputError
from agrifactory.io import landsat, remote
from agrifactory.io.files import write_text_atomic

#: Metadata file suffixes, in the order they are looked for.
MTL_SUFFIXES = ("MTL.json", "MTL.xml", "MTL.txt")
#: The token an inventory row's ``bands`` lists for a scene with a metadata file.
MTL_BAND = "MTL"
#: The top-level group of every format.
ROOT = "LANDSAT_METADATA_FILE"
SR_GROUP = "LEVEL2_SURFACE_REFLECTANCE_PARAMETERS"
ST_GROUP = "LEVEL2_SURFACE_TEMPERATURE_PARAMETERS"

_SR_MULT = re.compile(r"^REFLECTANCE_MULT_BAND_(\d+)$")
_ST_MULT = re.compile(r"^TEMPERATURE_MULT_BAND_(ST_B\d+)$")
_SPECTRAL = re.compile(r"^S[RT]_B\d+$")
_HINT = "re-download the scene's metadata file from USGS, or delete it to use the C2 constants"

Groups = dict[str, dict[str, str]]


@dataclass(frozen=True)
class Mtl:
    """What the factory uses of one scene's metadata file."""

    path: Path
    product_id: str
    spacecraft: str
    sensor: str
    acquired: dt.date
    wrs_path: int
    wrs_row: int
    #: Band suffix (``SR_B4``, ``ST_B10``) -> (scale, offset).
    scaling: dict[str, tuple[float, float]]

    def scale_offset(self, suffix: str) -> tuple[float, float]:
        """(scale, offset) of a band suffix; a band the file has no parameters for is an error."""
        try:
            return self.scaling[suffix]
        except KeyError:
            raise InputError(
                self.path,
                f"no scale/offset for band {suffix} in {SR_GROUP} or {ST_GROUP}",
                _HINT,
            ) from None


def find_mtl(scene_dir: str | Path, product_id: str) -> Path | None:
    """The scene's metadata file (JSON first, then XML, then ODL text), or None."""
    for suffix in MTL_SUFFIXES:
        path = Path(scene_dir) / f"{product_id}_{suffix}"
        if path.is_file():
            return path
    return None


def _groups_json(text: str, path: Path) -> Groups:
    try:
        doc = json.loads(text)
    except json.JSONDecodeError as exc:
        raise InputError(path, f"not valid JSON ({exc})", _HINT) from None
    if not isinstance(doc, dict) or not isinstance(doc.get(ROOT), dict):
        raise InputError(path, f"no top-level {ROOT!r} object", _HINT)
    return {g: v for g, v in doc[ROOT].items() if isinstance(v, dict)}


def _groups_xml(text: str, path: Path) -> Groups:
    try:
        root = ET.fromstring(text)
    except ET.ParseError as exc:
        raise InputError(path, f"not valid XML ({exc})", _HINT) from None
    if root.tag != ROOT:
        raise InputError(path, f"root element is <{root.tag}>, expected <{ROOT}>", _HINT)
    return {g.tag: {f.tag: (f.text or "").strip() for f in g} for g in root}


def _groups_odl(text: str, path: Path) -> Groups:
    """ODL text: ``GROUP = NAME`` ... ``END_GROUP = NAME``, ``KEY = value`` (quotes dropped)."""
    groups: Groups = {}
    stack: list[str] = []
    for n, line in enumerate(text.splitlines(), start=1):
        line = line.strip()
        if not line or line == "END":
            continue
        key, sep, value = (s.strip() for s in line.partition("="))
        if not sep:
            raise InputError(path, f"line {n}: {line!r} is not 'KEY = value'", _HINT)
        if key == "GROUP":
            stack.append(value)
            groups.setdefault(value, {})
        elif key == "END_GROUP":
            if not stack or stack.pop() != value:
                raise InputError(path, f"line {n}: END_GROUP = {value} closes no open group", _HINT)
        elif not stack:
            raise InputError(path, f"line {n}: field {key} outside any GROUP", _HINT)
        else:
            groups[stack[-1]][key] = value.strip('"')
    if ROOT not in groups:
        raise InputError(path, f"no GROUP = {ROOT}", _HINT)
    return {g: v for g, v in groups.items() if g != ROOT}


def read_groups(path: str | Path) -> Groups:
    """The groups of a metadata file (``{group: {field: text}}``), whatever its format."""
    if remote.is_url(path):
        text = remote.read_text(str(path))
        suffix = PurePosixPath(urlparse(str(path)).path).suffix
    else:
        path = Path(path)
        suffix = path.suffix
        try:
            text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise InputError(path, f"cannot be read ({exc})", _HINT) from None
    parse = {".json": _groups_json, ".xml": _groups_xml}.get(suffix.lower(), _groups_odl)
    return parse(text, path)


def _field(groups: Groups, group: str, key: str, path: Path) -> str:
    try:
        return str(groups[group][key])
    except KeyError:
        raise InputError(path, f"no {group}/{key}", _HINT) from None


def _number(groups: Groups, group: str, key: str, path: Path) -> float:
    text = _field(groups, group, key, path)
    try:
        return float(text)
    except ValueError:
        raise InputError(path, f"{group}/{key} = {text!r} is not a number", _HINT) from None


def _scaling(groups: Groups, path: Path) -> dict[str, tuple[float, float]]:
    """Every band's (MULT, ADD) pair; a MULT without its ADD is an error."""
    out = {}
    for group, pattern, prefix, add in (
        (SR_GROUP, _SR_MULT, "SR_B", "REFLECTANCE_ADD_BAND_"),
        (ST_GROUP, _ST_MULT, "", "TEMPERATURE_ADD_BAND_"),
    ):
        for key in groups.get(group, {}):
            m = pattern.match(key)
            if m:
                scale = _number(groups, group, key, path)
                out[f"{prefix}{m[1]}"] = (scale, _number(groups, group, add + m[1], path))
    return out


def read_mtl(
    path: str | Path, product_id: str | None = None, bands: tuple[str, ...] | list[str] = ()
) -> Mtl:
    """Read a scene's metadata file (JSON, XML or ODL text).

    Parameters
    ----------
    path
        The ``*_MTL.json``, ``*_MTL.xml`` or ``*_MTL.txt`` file.
    product_id
        The scene's product id: the file's ``LANDSAT_PRODUCT_ID`` must be the same.
    bands
        Band suffixes (``SR_B4``, ``ST_B10``) that must have scale and offset.

    Raises :class:`InputError` naming the file when it is malformed, lacks a field,
    belongs to another scene or lacks a band's parameters.
    """
    path = path if remote.is_url(path) else Path(path)
    groups = read_groups(path)
    pid = _field(groups, "PRODUCT_CONTENTS", "LANDSAT_PRODUCT_ID", path)
    if product_id is not None and pid != product_id:
        raise InputError(
            path,
            f"LANDSAT_PRODUCT_ID is {pid}, but the scene is {product_id}",
            "the metadata file belongs to another scene: put the scene's own file beside it",
        )
    date = _field(groups, "IMAGE_ATTRIBUTES", "DATE_ACQUIRED", path)
    try:
        acquired = dt.date.fromisoformat(date)
    except ValueError:
        raise InputError(path, f"DATE_ACQUIRED {date!r} is not YYYY-MM-DD", _HINT) from None
    mtl = Mtl(
        path=path,
        product_id=pid,
        spacecraft=_field(groups, "IMAGE_ATTRIBUTES", "SPACECRAFT_ID", path),
        sensor=_field(groups, "IMAGE_ATTRIBUTES", "SENSOR_ID", path),
        acquired=acquired,
        wrs_path=int(_number(groups, "IMAGE_ATTRIBUTES", "WRS_PATH", path)),
        wrs_row=int(_number(groups, "IMAGE_ATTRIBUTES", "WRS_ROW", path)),
        scaling=_scaling(groups, path),
    )
    for suffix in bands:
        mtl.scale_offset(suffix)
    return mtl


def check_scene_mtl(scene_dir: str | Path, product_id: str, bands: list[str]) -> Path | None:
    """A scene's metadata file, read and checked against its product id and the spectral
    ``bands`` it has (``SR_Bn``, ``ST_Bn`` need scale and offset); None if it has none."""
    path = find_mtl(scene_dir, product_id)
    if path is not None:
        read_mtl(path, product_id, [b for b in bands if _SPECTRAL.match(b)])
    return path


#: ``SENSOR_ID`` by the product id's sensor letter (``LC08`` -> ``C``).
SENSOR_IDS = {"C": "OLI_TIRS", "O": "OLI", "T": "TM", "E": "ETM", "M": "MSS"}
#: ``PRODUCT_CONTENTS`` file-name field of each non-spectral file suffix.
_FILE_FIELDS = {
    "QA_PIXEL": "FILE_NAME_QUALITY_L1_PIXEL",
    "QA_RADSAT": "FILE_NAME_QUALITY_L1_RADIOMETRIC_SATURATION",
    "SR_QA_AEROSOL": "FILE_NAME_QUALITY_L2_AEROSOL",
    "SR_CLOUD_QA": "FILE_NAME_QUALITY_L2_SURFACE_REFLECTANCE_CLOUD",
    "SR_ATMOS_OPACITY": "FILE_NAME_ATMOSPHERIC_OPACITY",
    "ST_QA": "FILE_NAME_QUALITY_L2_SURFACE_TEMPERATURE",
}


def _file_field(suffix: str) -> str:
    if suffix in _FILE_FIELDS:
        return _FILE_FIELDS[suffix]
    if suffix.startswith("SR_B"):
        return f"FILE_NAME_BAND_{landsat.band_number(suffix)}"
    return f"FILE_NAME_BAND_{suffix}"  # FILE_NAME_BAND_ST_B10


def _parameter_groups(suffixes: list[str]) -> dict[str, dict[str, str]]:
    """The LEVEL2 parameter groups of the C2 constants, laid out as USGS writes them."""
    sr = [landsat.band_number(s) for s in suffixes if s.startswith("SR_B")]
    st = [s for s in suffixes if s.startswith("ST_") and _SPECTRAL.match(s)]
    q_max, q_min = 65535, 1
    refl: dict[str, str] = {}
    for n in sr:
        refl[f"REFLECTANCE_MAXIMUM_BAND_{n}"] = (
            f"{q_max * landsat.SR_SCALE + landsat.SR_OFFSET:.6f}"
        )
        refl[f"REFLECTANCE_MINIMUM_BAND_{n}"] = (
            f"{q_min * landsat.SR_SCALE + landsat.SR_OFFSET:.6f}"
        )
    for n in sr:
        refl[f"QUANTIZE_CAL_MAX_BAND_{n}"] = str(q_max)
        refl[f"QUANTIZE_CAL_MIN_BAND_{n}"] = str(q_min)
    refl.update({f"REFLECTANCE_MULT_BAND_{n}": f"{landsat.SR_SCALE:.6g}" for n in sr})
    refl.update({f"REFLECTANCE_ADD_BAND_{n}": f"{landsat.SR_OFFSET:.6f}" for n in sr})
    temp: dict[str, str] = {}
    for b in st:
        temp[f"TEMPERATURE_MAXIMUM_BAND_{b}"] = (
            f"{q_max * landsat.ST_SCALE + landsat.ST_OFFSET:.6f}"
        )
        temp[f"TEMPERATURE_MINIMUM_BAND_{b}"] = (
            f"{q_min * landsat.ST_SCALE + landsat.ST_OFFSET:.6f}"
        )
        temp[f"QUANTIZE_CAL_MAXIMUM_BAND_{b}"] = str(q_max)
        temp[f"QUANTIZE_CAL_MINIMUM_BAND_{b}"] = str(q_min)
        temp[f"TEMPERATURE_MULT_BAND_{b}"] = f"{landsat.ST_SCALE:.6g}"
        temp[f"TEMPERATURE_ADD_BAND_{b}"] = f"{landsat.ST_OFFSET:.6f}"
    return {SR_GROUP: refl, ST_GROUP: temp}


def mtl_document(pid: landsat.ProductId, suffixes: list[str] | tuple[str, ...]) -> dict[str, Any]:
    """A C2 L2 ``MTL.json`` document (trimmed to the fields above) for a scene's band files.

    The scaling is the documented C2 constants, written as USGS writes them
    (``2.75e-05``, ``-0.200000``); they read back as exactly the same numbers.
    """
    files = {_file_field(s): f"{pid.text}_{s}.TIF" for s in suffixes}
    contents = {
        "ORIGIN": "Image courtesy of the U.S. Geological Survey",
        "LANDSAT_PRODUCT_ID": pid.text,
        "PROCESSING_LEVEL": pid.text.split("_")[1],
        "COLLECTION_NUMBER": pid.text.split("_")[5],
        "COLLECTION_CATEGORY": pid.tier,
        "OUTPUT_FORMAT": "GEOTIFF",
        **files,
    }
    attributes = {
        "SPACECRAFT_ID": f"LANDSAT_{int(pid.sensor[2:])}",
        "SENSOR_ID": SENSOR_IDS[pid.sensor[1]],
        "WRS_TYPE": "2",
        "WRS_PATH": str(pid.path),
        "WRS_ROW": str(pid.row),
        "DATE_ACQUIRED": pid.acquired.isoformat(),
    }
    groups = {"PRODUCT_CONTENTS": contents, "IMAGE_ATTRIBUTES": attributes}
    return {ROOT: {**groups, **_parameter_groups(list(suffixes))}}


def write_mtl_json(
    scene_dir: str | Path, pid: landsat.ProductId, suffixes: list[str] | tuple[str, ...]
) -> Path:
    """Write ``<product id>_MTL.json`` (:func:`mtl_document`) into a scene folder; its path."""
    path = Path(scene_dir) / f"{pid.text}_{MTL_SUFFIXES[0]}"
    write_text_atomic(path, json.dumps(mtl_document(pid, suffixes), indent=4) + "\n")
    return path
