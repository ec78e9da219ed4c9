"""Training sets: features gathered at labelled sample points across tiles.

Nothing is dropped silently. Samples outside every tile, labels not in the legend,
samples without feature data and classes below a minimum count are listed in an
``excluded`` table (``sample_id, label_column, label, tile_id, reason``). Labels
that look like typos of a legend label stop the run with the closest known label
(difflib); feature stacks and samples on different grids or years stop it too.

Labels are matched after trimming, lower-casing and turning spaces and hyphens into
underscores (``"Sugar beet"`` -> ``"sugar_beet"``); integer legend codes are
accepted as labels too.
"""

from __future__ import annotations

import difflib
import fnmatch
import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import geopandas as gpd
import numpy as np
import pandas as pd
from affine import Affine
from pyproj import CRS

from agrifactory.errors import ConfigError, DataError, GridError, InputError

if TYPE_CHECKING:
    from agrifactory.classify.stack import TileStack

log = logging.getLogger(__name__)

EXCLUDED_COLUMNS = ["sample_id", "label_column", "label", "tile_id", "reason"]

#: A label whose difflib similarity to a legend label reaches this is taken as a typo.
TYPO_CUTOFF = 0.75


@dataclass(frozen=True)
class FeatureStack:
    """The features of one tile: ``data (features, rows, cols)`` on a grid, for one year."""

    tile_id: str
    data: np.ndarray
    feature_names: tuple[str, ...]
    transform: Affine
    crs: CRS
    year: int | None = None
    source: str = ""

    def __post_init__(self) -> None:
        object.__setattr__(self, "crs", CRS.from_user_input(self.crs))
        object.__setattr__(self, "feature_names", tuple(str(n) for n in self.feature_names))
        if self.data.ndim != 3 or self.data.shape[0] != len(self.feature_names):
            raise DataError(
                f"{self.source or self.tile_id}: feature stack of shape {self.data.shape} "
                f"for {len(self.feature_names)} feature names"
            )

    @property
    def shape(self) -> tuple[int, int]:
        """``(rows, cols)`` of the grid."""
        return self.data.shape[1:]

    @property
    def bounds(self) -> tuple[float, float, float, float]:
        return grid_bounds(self.transform, self.shape)

    def values_at(self, x: np.ndarray, y: np.ndarray) -> np.ndarray:
        """Feature values ``(n, features)`` of the pixels holding points ``(x, y)``."""
        return extract_at_points(self, x, y)


def grid_bounds(transform: Affine, shape: tuple[int, int]) -> tuple[float, float, float, float]:
    """``(left, bottom, right, top)`` of a grid of ``shape (rows, cols)``."""
    rows, cols = shape
    x0, y0 = transform @ (0, 0)
    x1, y1 = transform @ (cols, rows)
    return (min(x0, x1), min(y0, y1), max(x0, x1), max(y0, y1))


def point_pixels(
    stack: FeatureStack | TileStack, x: np.ndarray, y: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """``(rows, cols)`` of the pixels of ``stack``'s grid holding points ``(x, y)``; a
    point off the grid is a :class:`~agrifactory.errors.GridError`."""
    t = ~stack.transform
    x = np.asarray(x, dtype=float)
    y = np.asarray(y, dtype=float)
    cols = np.floor(t.a * x + t.b * y + t.c).astype(np.int64)
    rows = np.floor(t.d * x + t.e * y + t.f).astype(np.int64)
    h, w = stack.shape
    outside = (rows < 0) | (rows >= h) | (cols < 0) | (cols >= w)
    if outside.any():
        raise GridError(
            f"{stack.source or stack.tile_id}: {int(outside.sum())} sample points of tile "
            f"{stack.tile_id} fall outside its feature grid (bounds {stack.bounds}); the "
            "features and the tile index are on different grids: rebuild the features"
        )
    return rows, cols


def read_feature_stack(path: str | Path, tile_id: str, year: int | None = None) -> FeatureStack:
    """Read a feature raster (one band per feature, named by its description).

    The year is taken from the ``year`` tag when present; ``year`` given here must
    agree with it.
    """
    from agrifactory.io.raster import read_raster

    data, meta = read_raster(path)
    names = meta["descriptions"]
    if any(not n for n in names):
        raise InputError(path, "has bands without a description", "feature bands must be named")
    tag_year = meta["tags"].get("year")
    file_year = int(tag_year) if tag_year not in (None, "") else None
    if year is not None and file_year is not None and int(year) != file_year:
        raise GridError(f"{path}: features are for year {file_year}, expected {year}")
    return FeatureStack(
        tile_id=tile_id,
        data=data,
        feature_names=tuple(names),
        transform=meta["transform"],
        crs=CRS.from_user_input(meta["crs"]),
        year=file_year if file_year is not None else year,
        source=str(path),
    )


def _normalise(label: object) -> str:
    return str(label).strip().lower().replace(" ", "_").replace("-", "_")


def encode_labels(
    values: pd.Series,
    legend: Mapping[str, int],
    column: str,
    *,
    typo_cutoff: float = TYPO_CUTOFF,
) -> tuple[pd.Series, pd.Series]:
    """Map label values to legend codes.

    Returns
    -------
    codes
        Nullable ``Int16`` codes; missing where the label is empty or unknown.
    unknown
        Boolean mask of labels that are not empty and not in the legend.

    Raises
    ------
    DataError
        If labels resemble a legend label (a typo); the message lists each such label
        with its count and the closest known label.
    """
    lookup = {_normalise(k): v for k, v in legend.items()}
    codes_by_text = {str(v): v for v in legend.values()}
    empty = values.isna() | (values.astype(str).str.strip() == "")
    codes = pd.Series(pd.NA, index=values.index, dtype="Int16")
    unknown = pd.Series(False, index=values.index)
    typos: dict[str, tuple[str, int]] = {}
    for text, idx in values[~empty].groupby(values[~empty].map(_normalise)).groups.items():
        raw = str(values.loc[idx[0]])
        if text in lookup:
            codes.loc[idx] = lookup[text]
            continue
        as_code = text[:-2] if text.endswith(".0") else text
        if as_code in codes_by_text:
            codes.loc[idx] = codes_by_text[as_code]
            continue
        close = difflib.get_close_matches(text, list(lookup), n=1, cutoff=typo_cutoff)
        if close:
            original = next(k for k in legend if _normalise(k) == close[0])
            typos[raw] = (original, len(idx))
        else:
            unknown.loc[idx] = True
    if typos:
        detail = "; ".join(
            f"{raw!r} ({n} samples): did you mean {best!r}?" for raw, (best, n) in typos.items()
        )
        raise DataError(
            f"label column {column!r} has labels that are not in its legend but look like "
            f"typos: {detail}. Known labels: {list(legend)}. Fix the sample file."
        )
    return codes, unknown


def _excluded(ids, column, labels, tiles, reason) -> pd.DataFrame:
    n = len(ids)
    return pd.DataFrame(
        {
            "sample_id": list(ids),
            "label_column": [column] * n if isinstance(column, str) else list(column),
            "label": [None if pd.isna(v) else str(v) for v in labels],
            "tile_id": list(tiles) if tiles is not None else [None] * n,
            "reason": [reason] * n if isinstance(reason, str) else list(reason),
        },
        columns=EXCLUDED_COLUMNS,
    )


def assign_tiles(
    samples: gpd.GeoDataFrame,
    tiles: gpd.GeoDataFrame,
    *,
    id_column: str = "sample_id",
    tile_column: str = "tile_id",
    region_column: str = "region",
) -> tuple[gpd.GeoDataFrame, pd.DataFrame]:
    """Give each sample point its tile (and region); list the points outside every tile.

    Tiles are axis-aligned squares; a point belongs to the tile with
    ``x_min <= x < x_max`` and ``y_min < y <= y_max``, so a point on a shared edge
    belongs to exactly one tile. Samples in another CRS than the tiles are
    reprojected (logged); samples without a CRS are an error.
    """
    if samples.crs is None:
        raise InputError("samples", "have no CRS", "write the sample file with its CRS")
    if tiles.crs is None:
        raise InputError("tiles", "have no CRS", "rebuild the tile index")
    if tile_column not in tiles.columns:
        raise ConfigError(
            f"tile index has no column {tile_column!r} (columns: {list(tiles.columns)})"
        )
    if not samples.crs.equals(tiles.crs):
        log.info("reprojecting %d samples from %s to the tile CRS", len(samples), samples.crs.name)
        samples = samples.to_crs(tiles.crs)
    if not (samples.geometry.geom_type == "Point").all():
        bad = samples.loc[samples.geometry.geom_type != "Point", id_column].tolist()[:10]
        raise DataError(f"samples must be points; {bad} are not")
    x = samples.geometry.x.to_numpy()
    y = samples.geometry.y.to_numpy()
    b = tiles.geometry.bounds.to_numpy()  # minx, miny, maxx, maxy
    inside = (
        (x[:, None] >= b[None, :, 0])
        & (x[:, None] < b[None, :, 2])
        & (y[:, None] > b[None, :, 1])
        & (y[:, None] <= b[None, :, 3])
    )
    hit = inside.any(axis=1)
    first = np.argmax(inside, axis=1)
    out = samples.copy()
    out[tile_column] = np.where(hit, tiles[tile_column].to_numpy()[first], None)
    if region_column in tiles.columns:
        out[region_column] = np.where(hit, tiles[region_column].to_numpy()[first], None)
    outside = out.loc[~hit]
    excluded = _excluded(outside[id_column], "*", [None] * len(outside), None, "outside every tile")
    if len(outside):
        log.warning(
            "%d samples lie outside every tile: %s", len(outside), outside[id_column].tolist()[:20]
        )
    return out.loc[hit].copy(), excluded


def extract_at_points(stack: FeatureStack, x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Feature values ``(n, features)`` of the pixels holding points ``(x, y)`` (stack CRS)."""
    rows, cols = point_pixels(stack, x, y)
    return stack.data[:, rows, cols].T


@dataclass
class TrainingSet:
    """Features and label codes at sample points, and what was excluded and why."""

    table: pd.DataFrame
    excluded: pd.DataFrame
    feature_names: list[str]
    label_columns: list[str]

    def rows(self, label_column: str, feature_names: Sequence[str] | None = None):
        """``(X DataFrame, y codes)`` of the samples that carry ``label_column``."""
        if label_column not in self.label_columns:
            raise ConfigError(f"no label column {label_column!r}; have {self.label_columns}")
        names = list(feature_names) if feature_names is not None else self.feature_names
        have = self.table[label_column].notna()
        sub = self.table.loc[have]
        return sub[names].reset_index(drop=True), sub[label_column].astype(np.int64).to_numpy()


def check_samples(
    samples: gpd.GeoDataFrame,
    label_columns: Sequence[str],
    *,
    year: int | None,
    id_column: str = "sample_id",
    year_column: str = "year",
) -> None:
    """Raise unless the samples have their columns, unique ids and the features' year."""
    missing = [c for c in [id_column, *label_columns] if c not in samples.columns]
    if missing:
        have = [c for c in samples.columns if c != "geometry"]
        raise ConfigError(f"sample file lacks columns {missing} (it has {have})")
    if samples[id_column].duplicated().any():
        dup = samples.loc[samples[id_column].duplicated(), id_column].tolist()[:10]
        raise DataError(f"sample ids are not unique: {dup}")
    if year is None or year_column not in samples.columns:
        return
    other = samples[
        samples[year_column].notna() & (samples[year_column].astype("Int64") != int(year))
    ]
    if len(other):
        years = sorted(other[year_column].astype(int).unique().tolist())
        raise GridError(
            f"{len(other)} samples are for years {years} but the features are for {year} "
            f"(e.g. {other[id_column].tolist()[:5]}); split the samples by year"
        )


@dataclass
class EncodedLabels:
    """Label codes per label column, the exclusions of unknown labels and their counts."""

    codes: dict[str, pd.Series]
    excluded: list[pd.DataFrame]
    unknown: dict[str, dict[str, int]]


def encode_sample_labels(
    samples: gpd.GeoDataFrame,
    label_columns: Mapping[str, Mapping[str, int]],
    *,
    id_column: str = "sample_id",
    typo_cutoff: float = TYPO_CUTOFF,
) -> EncodedLabels:
    """Encode every label column; list the samples whose label is not in its legend."""
    out = EncodedLabels({}, [], {})
    for column, legend in label_columns.items():
        codes, unknown = encode_labels(samples[column], legend, column, typo_cutoff=typo_cutoff)
        out.codes[column] = codes
        if not unknown.any():
            continue
        bad = samples.loc[unknown]
        reasons = [
            f"unknown label {v!r} (not in the {column} legend {list(legend)})" for v in bad[column]
        ]
        out.excluded.append(_excluded(bad[id_column], column, bad[column], None, reasons))
        counts = bad[column].astype(str).value_counts(sort=False)
        out.unknown[column] = {str(k): int(n) for k, n in sorted(counts.items())}
    return out


def report_unknown_labels(
    unknown: Mapping[str, Mapping[str, int]],
    legends: Mapping[str, Mapping[str, int]],
    *,
    strict: bool = False,
    source: str | Path = "samples",
) -> None:
    """A WARNING per label column naming each unknown label and its count, or, with
    ``strict`` (``classify.strict_labels``), an :class:`InputError` naming them all."""
    if not unknown:
        return
    detail = "; ".join(
        f"{column}: " + ", ".join(f"{label!r} ({n} samples)" for label, n in labels.items())
        for column, labels in unknown.items()
    )
    if strict:
        raise InputError(
            source,
            f"labels not in the legend: {detail}",
            "fix the labels, or set classify.strict_labels: false to exclude these samples "
            "(listed in excluded.csv)",
        )
    for column, labels in unknown.items():
        log.warning(
            "label column %s: %d samples with labels not in its legend %s are excluded "
            "(listed in excluded.csv): %s",
            column,
            sum(labels.values()),
            list(legends[column]),
            ", ".join(f"{label!r} ({n} samples)" for label, n in labels.items()),
        )


def check_stack(
    stack: FeatureStack | TileStack | None,
    tile_id: str,
    tile_bounds: tuple[float, ...],
    crs: CRS,
    year: int | None,
    feature_names: Sequence[str] | None,
) -> FeatureStack | TileStack:
    """Raise unless a tile's stack exists and is on the tile's grid, year and feature names."""
    if stack is None:
        raise InputError(
            f"features of tile {tile_id}", "are missing", "run the features stage for it"
        )
    name = stack.source or tile_id
    if year is not None and stack.year is not None and int(stack.year) != int(year):
        raise GridError(f"{name}: features are for year {stack.year}, expected {year}")
    if not stack.crs.equals(crs):
        raise GridError(
            f"{name}: features are in {stack.crs.name}, the tiles in {crs.name}; features "
            "must be on the tile grid"
        )
    if not np.allclose(stack.bounds, tile_bounds, atol=1e-6 * max(1.0, abs(stack.transform.a))):
        raise GridError(
            f"{name}: feature grid bounds {stack.bounds} differ from tile {tile_id} bounds "
            f"{tile_bounds}; features and samples are on different grids"
        )
    if feature_names is not None and list(stack.feature_names) != list(feature_names):
        if len(stack.feature_names) == len(feature_names):
            pairs = zip(stack.feature_names, feature_names, strict=False)
            where = next((a, b) for a, b in pairs if a != b)
        else:
            where = "count"
        raise GridError(
            f"{name}: feature names differ from the other tiles' (first difference at {where})"
        )
    return stack


def gather_features(
    placed: gpd.GeoDataFrame,
    tiles: gpd.GeoDataFrame,
    stacks: Mapping[str, FeatureStack] | Callable[[str], FeatureStack | TileStack],
    *,
    year: int | None = None,
    tile_column: str = "tile_id",
) -> pd.DataFrame:
    """Feature values at the placed samples (rows in ``placed``'s order), tile by tile."""
    feature_names: list[str] | None = None
    parts = []
    for tid, group in placed.groupby(tile_column, sort=True):
        stack = stacks(tid) if callable(stacks) else stacks.get(tid)
        tile_bounds = tuple(tiles.loc[tiles[tile_column] == tid].geometry.iloc[0].bounds)
        stack = check_stack(stack, tid, tile_bounds, placed.crs, year, feature_names)
        feature_names = list(stack.feature_names)
        values = stack.values_at(group.geometry.x.to_numpy(), group.geometry.y.to_numpy())
        parts.append(pd.DataFrame(values, columns=feature_names, index=group.index))
    if not parts:
        raise DataError(
            "no sample lies in any tile; check the sample file's CRS and the tile index"
        )
    return pd.concat(parts).loc[placed.index]


def _no_data_exclusions(
    placed: gpd.GeoDataFrame,
    features: pd.DataFrame,
    nan_rows: np.ndarray,
    id_column: str,
    tile_column: str,
) -> pd.DataFrame:
    bad = placed.loc[nan_rows]
    n_nan = features.loc[nan_rows].isna().sum(axis=1).to_numpy()
    reasons = [
        f"no feature data at the point ({k} of {features.shape[1]} features are NaN)" for k in n_nan
    ]
    return _excluded(bad[id_column], "*", [None] * len(bad), bad[tile_column], reasons)


def assemble_table(
    keep: gpd.GeoDataFrame,
    features: pd.DataFrame,
    label_columns: Sequence[str],
    *,
    id_column: str = "sample_id",
    tile_column: str = "tile_id",
    region_column: str = "region",
) -> pd.DataFrame:
    """``sample_id, tile_id, region, x, y``, the label codes and the features, one row per sample."""
    table = pd.DataFrame(
        {
            "sample_id": keep[id_column].to_numpy(),
            "tile_id": keep[tile_column].to_numpy(),
            "region": keep[region_column].to_numpy() if region_column in keep.columns else None,
            "x": keep.geometry.x.to_numpy(),
            "y": keep.geometry.y.to_numpy(),
        }
    )
    for column in label_columns:
        table[column] = keep[f"__code_{column}"].to_numpy()
        table[column] = table[column].astype("Int16")
    return pd.concat([table, features.reset_index(drop=True)], axis=1)


def drop_rare_labels(
    table: pd.DataFrame, label_columns: Mapping[str, Mapping[str, int]], min_count: int
) -> list[pd.DataFrame]:
    """Clear the labels of classes with fewer than ``min_count`` samples (in place) and
    return their exclusions; warn about legend classes without any sample."""
    excluded = []
    for column, legend in label_columns.items():
        counts = table[column].value_counts()
        names = {v: k for k, v in legend.items()}
        for code, n in counts.items():
            if n >= min_count:
                continue
            rows = table[column] == code
            name = names[int(code)]
            excluded.append(
                _excluded(
                    table.loc[rows, "sample_id"],
                    column,
                    [name] * int(n),
                    table.loc[rows, "tile_id"],
                    f"class {name!r} has {n} samples < min_count {min_count}",
                )
            )
            table.loc[rows, column] = pd.NA
        for label, code in legend.items():
            if code not in counts.index:
                log.warning("label column %s: class %r has no sample", column, label)
    return excluded


def _concat_excluded(parts: Sequence[pd.DataFrame]) -> pd.DataFrame:
    if any(len(e) for e in parts):
        return pd.concat([e for e in parts if len(e)], ignore_index=True)
    return pd.DataFrame(columns=EXCLUDED_COLUMNS)


def build_training_set(
    samples: gpd.GeoDataFrame,
    tiles: gpd.GeoDataFrame,
    stacks: Mapping[str, FeatureStack] | Callable[[str], FeatureStack | TileStack],
    label_columns: Mapping[str, Mapping[str, int]],
    *,
    year: int | None = None,
    min_count: int,
    strict_labels: bool = False,
    source: str | Path = "samples",
    id_column: str = "sample_id",
    year_column: str = "year",
    tile_column: str = "tile_id",
    region_column: str = "region",
    typo_cutoff: float = TYPO_CUTOFF,
    nan_ok: Sequence[str] = (),
) -> TrainingSet:
    """Gather features at labelled sample points across tiles.

    Parameters
    ----------
    samples
        Points with an id column and one column per product label (e.g. ``cropland``,
        ``irrigation``, ``croptype``); an empty label means "not labelled for this
        product" (crop type of a non-cropland sample). Optional ``year`` column.
    tiles
        Tile index (polygons with ``tile_id`` and optionally ``region``).
    stacks
        Tile id -> :class:`FeatureStack` (a mapping, or a function that reads one).
    label_columns
        Label column -> legend (label -> code).
    year
        The year of the features; samples of another year, or stacks of another year,
        are an error.
    min_count
        Classes with fewer samples (per label column, after the other exclusions) are
        excluded from that column and reported.
    strict_labels, source
        Labels not in the legend are excluded with a WARNING naming each label and its
        count; with ``strict_labels`` they are an :class:`InputError` naming them and
        ``source`` (the sample file).
    nan_ok
        Glob patterns of features that may be NaN (missing values, e.g. a month
        without a composite); a point is excluded when any other feature is NaN.

    Returns
    -------
    TrainingSet
        ``table`` with ``sample_id, tile_id, region, x, y``, the label columns (nullable
        integer codes) and one column per feature; ``excluded`` lists every dropped
        (sample, label column) with the reason.
    """
    check_samples(
        samples, list(label_columns), year=year, id_column=id_column, year_column=year_column
    )
    labels = encode_sample_labels(
        samples, label_columns, id_column=id_column, typo_cutoff=typo_cutoff
    )
    report_unknown_labels(labels.unknown, label_columns, strict=strict_labels, source=source)
    samples = samples.assign(**{f"__code_{c}": v for c, v in labels.codes.items()})
    placed, outside = assign_tiles(
        samples, tiles, id_column=id_column, tile_column=tile_column, region_column=region_column
    )
    excluded = [*labels.excluded, outside]
    features = gather_features(placed, tiles, stacks, year=year, tile_column=tile_column)
    required = [c for c in features.columns if not any(fnmatch.fnmatchcase(c, p) for p in nan_ok)]
    nan_rows = features[required].isna().any(axis=1).to_numpy()
    if nan_rows.any():
        excluded.append(_no_data_exclusions(placed, features, nan_rows, id_column, tile_column))
    table = assemble_table(
        placed.loc[~nan_rows],
        features.loc[~nan_rows],
        list(label_columns),
        id_column=id_column,
        tile_column=tile_column,
        region_column=region_column,
    )
    excluded += drop_rare_labels(table, label_columns, min_count)
    excluded_table = _concat_excluded(excluded)
    log.info(
        "training set: %d samples with features, %d exclusions", len(table), len(excluded_table)
    )
    return TrainingSet(table, excluded_table, list(features.columns), list(label_columns))
