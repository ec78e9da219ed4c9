"""In-situ soil-moisture stations: ISMN files (both formats) and a plain CSV format.

Readers return one long table of readings with the columns of
:data:`RECORD_COLUMNS` (one row per reading, flags kept as written). A line
that cannot be parsed is recorded as a :class:`LineProblem` (file, line number,
reason) and skipped; it is counted in the log and never stops the read. A file
with no readable data at all is an :class:`~agrifactory.errors.InputError`
naming it.

Formats
-------
ISMN "header + values" (``.stm``)
    First line: ``CSE network station lat lon elevation depth_from depth_to sensor``;
    then one reading per line: ``YYYY/MM/DD HH:MM value flag [original_flag]``.
ISMN "CEOP separate files" (``.stm``)
    No header; every line: ``YYYY/MM/DD HH:MM YYYY/MM/DD HH:MM CSE network
    station lat lon elevation depth_from depth_to value flag [original_flag]``
    (nominal then actual time; the nominal time is used).
Station CSV (``.csv``), defined here
    Header ``station,lon,lat,depth_from,depth_to,time,value`` and optionally
    ``flag``; ``time`` is ISO 8601 (UTC unless it carries an offset); depths in
    metres below the surface; values in m3/m3. Without a ``flag`` column every
    reading counts as ``G``.

ISMN variables other than soil moisture (``_sm_`` in the file name) are not read.
Times are UTC, as ISMN delivers them. Lines end at ``\\n`` (Unix), ``\\r\\n``
(Windows) or a lone ``\\r`` (old Mac: the MAQU files of the ISMN samples), and
nowhere else; line numbers count them (the ISMN sample files mix them).
"""

from __future__ import annotations

import logging
import math
import re
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from agrifactory.errors import ConfigError, DataError, InputError

log = logging.getLogger(__name__)

#: Columns of the long reading table every reader returns.
RECORD_COLUMNS = [
    "station",
    "network",
    "lon",
    "lat",
    "elevation",
    "depth_from",
    "depth_to",
    "sensor",
    "time",
    "value",
    "flag",
    "source",
]

#: ISMN quality flags kept by default: only 'G' (good).
DEFAULT_KEEP_FLAGS = ("G",)

#: Default depth ranges (metres, [from, to)) of the two product layers; a sensor
#: belongs to the layer that holds the midpoint of its depth interval.
DEFAULT_LAYER_DEPTHS: dict[str, tuple[float, float]] = {
    "surface": (0.0, 0.10),
    "rootzone": (0.10, 1.0),
}

_ISMN_NAME = re.compile(
    r"_(?P<var>[A-Za-z]+)_(?P<d1>-?\d+\.\d+)_(?P<d2>-?\d+\.\d+)_(?P<sensor>.+)"
    r"_(?P<start>\d{8})_(?P<end>\d{8})\.stm$"
)
_STAMP = re.compile(r"^(\d{4})/(\d{2})/(\d{2})$")
_CLOCK = re.compile(r"^(\d{2}):(\d{2})$")
# Exactly these end a line (str.splitlines would also split at form feeds, \x1c-\x1e,
# \x85 and \u2028 inside a line, which shifts the line numbers of the problems).
_LINE_END = re.compile(r"\r\n|\r|\n")
CSV_REQUIRED = ["station", "lon", "lat", "depth_from", "depth_to", "time", "value"]


@dataclass(frozen=True)
class LineProblem:
    """One line that was skipped: where it is and why."""

    path: str
    line: int
    reason: str


@dataclass
class StationRead:
    """What a reader returns: the readings, the skipped lines and the files read."""

    records: pd.DataFrame
    problems: list[LineProblem] = field(default_factory=list)
    files: list[str] = field(default_factory=list)

    def problem_table(self) -> pd.DataFrame:
        """The skipped lines as a table (path, line, reason) for a QA output."""
        return pd.DataFrame(
            [(p.path, p.line, p.reason) for p in self.problems], columns=["path", "line", "reason"]
        )


def _empty_records() -> pd.DataFrame:
    return pd.DataFrame({c: pd.Series(dtype=object) for c in RECORD_COLUMNS})


def _read_lines(path: Path) -> list[str]:
    if not path.is_file():
        raise InputError(path, "station file not found", "check the station path in the config")
    raw = path.read_bytes()
    if b"\x00" in raw[:4096]:
        raise InputError(path, "is a binary file, not an ISMN/CSV text file", "replace it")
    lines = _LINE_END.split(raw.decode("utf-8", errors="replace"))
    return lines[:-1] if lines and not lines[-1] else lines  # a final line end ends no line


def _float(tok: str) -> float | None:
    try:
        v = float(tok)
    except ValueError:
        return None
    return v if math.isfinite(v) else None


def _clock(date_tok: str, time_tok: str) -> tuple[int, int, int, int, int] | None:
    d = _STAMP.match(date_tok)
    t = _CLOCK.match(time_tok)
    if not (d and t):
        return None
    parts = (int(d[1]), int(d[2]), int(d[3]), int(t[1]), int(t[2]))
    y, mo, day, hh, mm = parts
    if not (1 <= mo <= 12 and 1 <= day <= 31 and hh <= 23 and mm <= 59):
        return None
    return parts


def _times(stamps: list[tuple[int, int, int, int, int]]) -> pd.DatetimeIndex:
    """Vectorised construction; impossible dates (31 April) come out as NaT."""
    if not stamps:
        return pd.DatetimeIndex([], tz="UTC")
    arr = np.asarray(stamps)
    frame = pd.DataFrame(arr, columns=["year", "month", "day", "hour", "minute"])
    return pd.DatetimeIndex(pd.to_datetime(frame, errors="coerce", utc=True))


def _name_meta(path: Path) -> dict[str, str | float] | None:
    m = _ISMN_NAME.search(path.name)
    if not m:
        return None
    return {
        "variable": m["var"],
        "depth_from": float(m["d1"]),
        "depth_to": float(m["d2"]),
        "sensor": m["sensor"],
    }


def _check_depths(path: Path, d_from: float, d_to: float) -> None:
    if not (d_from >= 0 and d_to >= d_from):
        raise InputError(
            path,
            f"sensor depth {d_from}-{d_to} m is not a depth interval below the surface",
            "ISMN depths are positive metres with depth_from <= depth_to",
        )


def _frame(
    path: Path,
    meta: Mapping[str, object],
    stamps: list[tuple[int, int, int, int, int]],
    values: list[float],
    flags: list[str],
    line_nos: list[int],
    problems: list[LineProblem],
) -> pd.DataFrame:
    times = _times(stamps)
    bad = np.asarray(times.isna())
    for i in np.flatnonzero(bad):
        problems.append(LineProblem(str(path), line_nos[i], "impossible calendar date"))
    keep = ~bad
    n = int(keep.sum())
    df = pd.DataFrame(
        {
            "station": [meta["station"]] * n,
            "network": [meta["network"]] * n,
            "lon": np.full(n, meta["lon"], dtype=float),
            "lat": np.full(n, meta["lat"], dtype=float),
            "elevation": np.full(n, meta["elevation"], dtype=float),
            "depth_from": np.full(n, meta["depth_from"], dtype=float),
            "depth_to": np.full(n, meta["depth_to"], dtype=float),
            "sensor": [meta["sensor"]] * n,
            "time": times[keep],
            "value": np.asarray(values, dtype=float)[keep],
            "flag": np.asarray(flags, dtype=object)[keep],
            "source": [str(path)] * n,
        }
    )
    return df


def _finish(path: Path, df: pd.DataFrame, problems: list[LineProblem], n_lines: int) -> None:
    if df.empty:
        reasons = Counter(p.reason for p in problems if p.path == str(path))
        raise InputError(
            path,
            f"no readable reading in {n_lines} data lines"
            + (f" (skipped: {dict(reasons)})" if reasons else ""),
            "the file is not an ISMN soil-moisture file or is corrupt",
        )
    skipped = sum(1 for p in problems if p.path == str(path))
    if skipped:
        log.warning("%s: skipped %d malformed line(s)", path, skipped)
        for p in [p for p in problems if p.path == str(path)][:20]:
            log.warning("  line %d: %s", p.line, p.reason)


def read_ismn_header_values(path: str | Path) -> StationRead:
    """Read an ISMN "header + values" ``.stm`` file.

    The header line gives station, position, depth and sensor; each further line
    is ``YYYY/MM/DD HH:MM value flag [original_flag]``. Malformed lines are
    recorded and skipped; a malformed header is an :class:`InputError`.
    """
    path = Path(path)
    lines = _read_lines(path)
    head_idx = next((i for i, line in enumerate(lines) if line.strip()), None)
    if head_idx is None:
        raise InputError(path, "is empty", "download the station file again")
    head = lines[head_idx].split()
    nums = [_float(t) for t in head[3:8]] if len(head) >= 9 else [None]
    if len(head) < 9 or any(v is None for v in nums):
        raise InputError(
            path,
            f"first line is not an ISMN header (CSE network station lat lon elevation "
            f"depth_from depth_to sensor): {lines[head_idx][:80]!r}",
            "is this a CEOP file or a CSV? use read_station_file to detect the format",
        )
    lat, lon, elev, d_from, d_to = nums
    _check_depths(path, d_from, d_to)
    meta = {
        "network": head[1],
        "station": f"{head[1]}:{head[2]}",
        "lat": lat,
        "lon": lon,
        "elevation": elev,
        "depth_from": d_from,
        "depth_to": d_to,
        "sensor": " ".join(head[8:]),
    }
    problems: list[LineProblem] = []
    stamps, values, flags, line_nos = [], [], [], []
    n_data = 0
    for i in range(head_idx + 1, len(lines)):
        toks = lines[i].split()
        if not toks:
            continue
        n_data += 1
        line_no = i + 1
        if len(toks) not in (4, 5):
            problems.append(LineProblem(str(path), line_no, f"{len(toks)} fields, expected 4 or 5"))
            continue
        stamp = _clock(toks[0], toks[1])
        if stamp is None:
            problems.append(LineProblem(str(path), line_no, f"bad timestamp {toks[0]} {toks[1]!r}"))
            continue
        value = _float(toks[2])
        if value is None:
            problems.append(LineProblem(str(path), line_no, f"value {toks[2]!r} is not a number"))
            continue
        if _float(toks[3]) is not None:
            problems.append(LineProblem(str(path), line_no, f"flag {toks[3]!r} is a number"))
            continue
        stamps.append(stamp)
        values.append(value)
        flags.append(toks[3])
        line_nos.append(line_no)
    df = _frame(path, meta, stamps, values, flags, line_nos, problems)
    _finish(path, df, problems, n_data)
    return StationRead(df, problems, [str(path)])


def read_ismn_ceop(path: str | Path) -> StationRead:
    """Read an ISMN "CEOP separate files" ``.stm`` file (metadata on every line).

    The station, position and depth of the first readable line define the
    file; a later line that disagrees is recorded and skipped. The sensor name
    comes from the ISMN file name.
    """
    path = Path(path)
    lines = _read_lines(path)
    name_meta = _name_meta(path) or {}
    problems: list[LineProblem] = []
    stamps, values, flags, line_nos = [], [], [], []
    meta: dict[str, object] | None = None
    n_data = 0
    for i, line in enumerate(lines):
        toks = line.split()
        if not toks:
            continue
        n_data += 1
        line_no = i + 1
        if len(toks) not in (14, 15):
            problems.append(
                LineProblem(str(path), line_no, f"{len(toks)} fields, expected 14 or 15")
            )
            continue
        stamp = _clock(toks[0], toks[1])
        if stamp is None:
            problems.append(LineProblem(str(path), line_no, f"bad timestamp {toks[0]} {toks[1]!r}"))
            continue
        nums = [_float(t) for t in toks[7:13]]
        if any(v is None for v in nums):
            problems.append(
                LineProblem(str(path), line_no, "lat, lon, elevation, depths or value not a number")
            )
            continue
        lat, lon, elev, d_from, d_to, value = nums
        here = (toks[5], toks[6], lat, lon, d_from, d_to)
        if meta is None:
            _check_depths(path, d_from, d_to)
            meta = {
                "network": toks[5],
                "station": f"{toks[5]}:{toks[6]}",
                "lat": lat,
                "lon": lon,
                "elevation": elev,
                "depth_from": d_from,
                "depth_to": d_to,
                "sensor": str(name_meta.get("sensor", "")),
                "_key": here,
            }
        elif here != meta["_key"]:
            problems.append(
                LineProblem(str(path), line_no, "station, position or depth differs from line 1")
            )
            continue
        stamps.append(stamp)
        values.append(value)
        flags.append(toks[13])
        line_nos.append(line_no)
    if meta is None:
        _finish(path, _empty_records(), problems, n_data)
    df = _frame(path, meta, stamps, values, flags, line_nos, problems)
    _finish(path, df, problems, n_data)
    return StationRead(df, problems, [str(path)])


def read_station_csv(path: str | Path) -> StationRead:
    """Read the station CSV format (see the module docstring); bad rows are skipped and recorded."""
    path = Path(path)
    table, line_arr, problems = _csv_table(path)
    num = {
        c: pd.to_numeric(table[c], errors="coerce")
        for c in ["lon", "lat", "depth_from", "depth_to", "value"]
    }
    times = pd.to_datetime(table["time"], errors="coerce", utc=True, format="ISO8601")
    bad, reasons = _bad_csv_values(num, times)
    for ln, why in zip(line_arr[bad], reasons[bad], strict=True):
        problems.append(LineProblem(str(path), int(ln), str(why)))
    good = ~bad
    flags = (
        table["flag"].where(table["flag"] != "", "G")
        if "flag" in table.columns
        else pd.Series("G", table.index)
    )
    df = pd.DataFrame(
        {
            "station": table["station"][good].to_numpy(dtype=object),
            "network": "",
            "lon": num["lon"][good].to_numpy(float),
            "lat": num["lat"][good].to_numpy(float),
            "elevation": np.nan,
            "depth_from": num["depth_from"][good].to_numpy(float),
            "depth_to": num["depth_to"][good].to_numpy(float),
            "sensor": "",
            "time": pd.DatetimeIndex(times[good]),
            "value": num["value"][good].to_numpy(float),
            "flag": flags[good].to_numpy(dtype=object),
            "source": str(path),
        }
    )
    df = _one_position_per_station(df, line_arr[good], path, problems)
    problems.sort(key=lambda p: p.line)
    _finish(path, df, problems, len(table) + len(problems))
    return StationRead(df, problems, [str(path)])


def _csv_table(path: Path) -> tuple[pd.DataFrame, np.ndarray, list[LineProblem]]:
    """The CSV's rows as text (with their line numbers); rows of the wrong width recorded."""
    lines = _read_lines(path)
    if not lines:
        raise InputError(path, "is empty", "write a header row and readings")
    header = [h.strip().lower() for h in lines[0].split(",")]
    missing = [c for c in CSV_REQUIRED if c not in header]
    if missing:
        raise InputError(
            path,
            f"CSV header lacks column(s) {missing}; found {header}",
            f"station CSV needs {CSV_REQUIRED} and optionally 'flag'",
        )
    problems: list[LineProblem] = []
    rows, line_nos = [], []
    for i in range(1, len(lines)):
        if not lines[i].strip():
            continue
        cells = [c.strip() for c in lines[i].split(",")]
        if len(cells) != len(header):
            problems.append(
                LineProblem(str(path), i + 1, f"{len(cells)} fields, expected {len(header)}")
            )
            continue
        rows.append(cells)
        line_nos.append(i + 1)
    return pd.DataFrame(rows, columns=header), np.asarray(line_nos), problems


def _bad_csv_values(num: dict[str, pd.Series], times: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """Rows with an unreadable time, a non-number or no depth interval, and why."""
    bad = np.array(times.isna(), dtype=bool)
    reasons = np.where(bad, "time is not ISO 8601", "")
    for c, v in num.items():
        nan = ~np.isfinite(v.to_numpy(dtype=float))
        reasons = np.where(nan & ~bad, f"{c} is not a number", reasons)
        bad |= nan
    depth_bad = ~bad & ~(
        (num["depth_from"].to_numpy() >= 0) & (num["depth_to"] >= num["depth_from"]).to_numpy()
    )
    reasons = np.where(depth_bad, "depth_from/depth_to not a depth interval", reasons)
    return bad | depth_bad, reasons


def _one_position_per_station(
    df: pd.DataFrame, line_nos: np.ndarray, path: Path, problems: list[LineProblem]
) -> pd.DataFrame:
    """Rows whose lon/lat differ from their station's first row are skipped and recorded."""
    if not len(df):
        return df
    first = df.groupby("station", sort=False)[["lon", "lat"]].transform("first")
    moved = ((df["lon"] != first["lon"]) | (df["lat"] != first["lat"])).to_numpy()
    for ln in line_nos[moved]:
        problems.append(
            LineProblem(str(path), int(ln), "lon/lat differ from the station's first row")
        )
    return df[~moved].reset_index(drop=True)


def detect_ismn_format(path: str | Path) -> str:
    """``'header_values'`` or ``'ceop'``, from the first non-empty line of an ``.stm`` file."""
    path = Path(path)
    lines = _read_lines(path)
    first = next((line.split() for line in lines if line.strip()), None)
    if first is None:
        raise InputError(path, "is empty", "download the station file again")
    if len(first) >= 14 and _clock(first[0], first[1]) and _clock(first[2], first[3]):
        return "ceop"
    if len(first) >= 9 and _clock(first[0], first[1]) is None:
        return "header_values"
    raise InputError(
        path,
        f"first line matches neither ISMN format: {' '.join(first)[:80]!r}",
        "expected an ISMN header line or a CEOP line starting with two timestamps",
    )


def read_station_file(path: str | Path) -> StationRead:
    """Read one station file, choosing the reader by suffix and content."""
    path = Path(path)
    if path.suffix.lower() == ".csv":
        return read_station_csv(path)
    if path.suffix.lower() != ".stm":
        raise InputError(path, "unknown station file type", "expected an ISMN .stm file or a .csv")
    if detect_ismn_format(path) == "ceop":
        return read_ismn_ceop(path)
    return read_ismn_header_values(path)


def find_station_files(root: str | Path) -> list[Path]:
    """ISMN soil-moisture ``.stm`` files and station ``.csv`` files under ``root``, sorted.

    In the ISMN folder layout (``<root>/<network>/<station>/*.stm``) other
    variables (temperature, precipitation, ...) sit beside soil moisture; only
    files whose ISMN name says ``_sm_`` are returned. ISMN static-variable CSVs
    (``*_static_variables.csv``) are not station data and are left out.
    """
    root = Path(root)
    if root.is_file():
        return [root]
    if not root.is_dir():
        raise InputError(root, "station folder not found", "check the station path in the config")
    out = []
    for p in sorted(root.rglob("*")):
        if p.suffix.lower() == ".stm":
            meta = _name_meta(p)
            if meta is not None and meta["variable"] != "sm":
                continue
            out.append(p)
        elif p.suffix.lower() == ".csv" and not p.name.endswith("_static_variables.csv"):
            out.append(p)
    return out


def read_stations(paths: str | Path | Iterable[str | Path]) -> StationRead:
    """Read station files and folders (ISMN layout or CSV) into one :class:`StationRead`."""
    if isinstance(paths, str | Path):
        paths = [paths]
    files = [f for p in paths for f in find_station_files(p)]
    if not files:
        raise InputError(
            Path(str(next(iter(paths), "."))),
            "no station files (.stm soil moisture or .csv) found",
            "check the station path in the config",
        )
    frames, problems = [], []
    for f in files:
        part = read_station_file(f)
        frames.append(part.records)
        problems.extend(part.problems)
    records = pd.concat(frames, ignore_index=True)
    log.info(
        "read %d readings from %d station file(s) (%d station(s)); %d malformed line(s) skipped",
        len(records),
        len(files),
        records["station"].nunique(),
        len(problems),
    )
    return StationRead(records, problems, [str(f) for f in files])


def apply_quality_flags(
    records: pd.DataFrame, keep: Sequence[str] = DEFAULT_KEEP_FLAGS
) -> tuple[pd.DataFrame, dict[str, int]]:
    """Mask (set to NaN) every reading whose ISMN flag is not in ``keep``; count per flag.

    Flags are compared as written (``'D03,D05'`` is one flag string); the counts
    per flag string are logged and returned.
    """
    counts = {str(k): int(v) for k, v in records["flag"].value_counts().sort_index().items()}
    masked = ~records["flag"].isin(list(keep))
    out = records.copy()
    out.loc[masked, "value"] = np.nan
    log.info(
        "quality flags: %s; kept %s, masked %d of %d readings",
        ", ".join(f"{k}={v}" for k, v in counts.items()) or "none",
        "/".join(keep),
        int(masked.sum()),
        len(records),
    )
    return out, counts


def check_layer_depths(layers: Mapping[str, Sequence[float]]) -> dict[str, tuple[float, float]]:
    """Validate ``{layer: (from, to)}`` depth ranges in metres: ordered and not overlapping."""
    out = {}
    for name, rng in layers.items():
        if len(rng) != 2 or not (0 <= float(rng[0]) < float(rng[1])):
            raise ConfigError(
                f"layer {name!r}: depth range {rng!r} must be [from, to) in metres with "
                "0 <= from < to"
            )
        out[name] = (float(rng[0]), float(rng[1]))
    spans = sorted(out.items(), key=lambda kv: kv[1][0])
    for (a, (_, a1)), (b, (b0, _)) in zip(spans, spans[1:], strict=False):
        if b0 < a1:
            raise ConfigError(
                f"layer depth ranges {a!r} and {b!r} overlap; a sensor must map to one"
            )
    return out


def assign_layers(
    records: pd.DataFrame, layers: Mapping[str, Sequence[float]] = DEFAULT_LAYER_DEPTHS
) -> pd.DataFrame:
    """Add a ``layer`` column: the layer whose [from, to) range holds the sensor's mid-depth.

    Sensors outside every range are dropped, with one log line per sensor.
    """
    ranges = check_layer_depths(layers)
    mid = (records["depth_from"] + records["depth_to"]).to_numpy() / 2
    layer = np.full(len(records), None, dtype=object)
    for name, (lo, hi) in ranges.items():
        layer[(mid >= lo) & (mid < hi)] = name
    out = records.assign(layer=layer)
    unmapped = out[out["layer"].isna()]
    for (st, d0, d1), _ in unmapped.groupby(["station", "depth_from", "depth_to"]):
        log.info("station %s sensor at %.2f-%.2f m is in no layer %s: not used", st, d0, d1, ranges)
    return out[out["layer"].notna()].reset_index(drop=True)


def daily_layer_means(
    records: pd.DataFrame,
    layers: Mapping[str, Sequence[float]] = DEFAULT_LAYER_DEPTHS,
    *,
    min_readings: int = 1,
) -> pd.DataFrame:
    """Daily (UTC) mean of the valid readings per station and layer.

    Several sensors of one station in one layer are averaged together. Days with
    fewer than ``min_readings`` valid readings are left out.

    Returns
    -------
    DataFrame
        Columns ``station, lon, lat, layer, date, value, n`` (``date`` is a
        ``datetime64`` at midnight).
    """
    recs = assign_layers(records, layers)
    recs = recs[np.isfinite(recs["value"].to_numpy(dtype=float))]
    if recs.empty:
        raise DataError(
            "no valid station reading is left after quality flags and depth mapping; "
            "check keep_flags and the layer depth ranges"
        )
    day = pd.DatetimeIndex(recs["time"]).tz_convert("UTC").tz_localize(None).normalize()
    grouped = recs.assign(date=day).groupby(["station", "layer", "date"], sort=True)
    daily = grouped.agg(
        value=("value", "mean"), n=("value", "size"), lon=("lon", "first"), lat=("lat", "first")
    )
    daily = daily[daily["n"] >= min_readings].reset_index()
    return daily[["station", "lon", "lat", "layer", "date", "value", "n"]]


def select_in_region(daily: pd.DataFrame, bbox: Sequence[float]) -> tuple[pd.DataFrame, list[str]]:
    """Keep stations inside ``bbox`` = (lon_min, lat_min, lon_max, lat_max); log the others.

    Returns the kept rows and the ids of the stations left out. No station inside
    is a :class:`DataError`.
    """
    lon0, lat0, lon1, lat1 = bbox
    pos = daily.groupby("station")[["lon", "lat"]].first()
    inside = (pos["lon"] >= lon0) & (pos["lon"] < lon1) & (pos["lat"] > lat0) & (pos["lat"] <= lat1)
    outside = sorted(pos.index[~inside])
    for st in outside:
        log.warning(
            "station %s at lon %.4f, lat %.4f lies outside the soil-moisture region %s: not used",
            st,
            pos.loc[st, "lon"],
            pos.loc[st, "lat"],
            tuple(bbox),
        )
    if not inside.any():
        raise DataError(
            f"none of the {len(pos)} stations lies inside the soil-moisture region {tuple(bbox)}; "
            "check the station files and the region's bounding box (lon/lat order)"
        )
    kept = daily[daily["station"].isin(pos.index[inside])].reset_index(drop=True)
    return kept, outside
