"""The training table: labelled samples at every tile's input stack, split, and the
rows and model of one product and region.

:func:`training_table` gathers the classifiers' input stack (features plus the HANTS
series, :mod:`~agrifactory.classify.stack`) at the labelled sample points of every
tile, with each point's tile, region and ``train``/``validation`` split.
:func:`fit_product` fits one product's model for one region and year from that
table. Reading and writing the files is left to :mod:`agrifactory.classify.rules`.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd

from agrifactory.classify.base import select_features
from agrifactory.classify.cnn2d import MONTHLY_PREFIX
from agrifactory.classify.legend import LEGENDS, PRODUCTS
from agrifactory.classify.regions import tiles_frame
from agrifactory.classify.separability import pairwise_jm
from agrifactory.classify.stack import TileStack
from agrifactory.classify.train import train_from_table
from agrifactory.classify.training import TrainingSet, build_training_set
from agrifactory.errors import ConfigError, DataError, InputError
from agrifactory.grid import DEFAULT_GRID, GridSpec
from agrifactory.io.samples import read_samples

log = logging.getLogger(__name__)

SPLITS = ("train", "validation")
#: Model kinds whose parameters include ``num_threads``.
THREADED = ("lightgbm", "cnn1d", "cnn2d", "ensemble")


def read_labelled_samples(
    path: str | Path,
    label_columns: Mapping[str, str],
    *,
    id_column: str = "sample_id",
    split_column: str | None = None,
    year_column: str = "year",
):
    """Sample points with their label columns renamed to the product names.

    Returns a GeoDataFrame (EPSG:4326) with ``sample_id``, one column per product,
    ``split`` (when ``split_column`` is given; values ``train``/``validation``), ``year``
    (when the file has it) and the geometry.
    """
    unknown = sorted(set(label_columns) - set(PRODUCTS))
    if unknown:
        raise ConfigError(f"classify.samples.label_columns: unknown products {unknown}")
    needed = list(label_columns.values()) + ([split_column] if split_column else [])
    samples = read_samples(path, label_columns=needed, id_column=id_column)
    keep = {id_column: "sample_id", **{col: prod for prod, col in label_columns.items()}}
    if split_column:
        keep[split_column] = "split"
    if year_column in samples.columns:
        keep[year_column] = "year"
    out = samples[[*keep, "geometry"]].rename(columns=keep)
    if split_column:
        split = out["split"].astype("string").str.strip().str.lower()
        bad = out.loc[~split.isin(SPLITS), "sample_id"].tolist()
        if bad:
            values = sorted(set(out.loc[~split.isin(SPLITS), "split"].astype(str)))
            raise InputError(
                path,
                f"column {split_column!r} holds {values} for samples {bad[:10]}; "
                f"expected {list(SPLITS)}",
                "fix the sample file or set classify.samples.split_column to null",
            )
        out["split"] = split
    return out


def samples_of_year(
    samples: gpd.GeoDataFrame, year: int, source: str | Path = "samples"
) -> gpd.GeoDataFrame:
    """The samples whose ``year`` is ``year`` or empty (all of them without the column).

    A sample file may hold the labels of several years (crops rotate); each year's
    training set takes its own. The count of samples left to other years is logged.
    """
    if "year" not in samples.columns:
        return samples
    years = pd.to_numeric(samples["year"], errors="coerce")
    keep = years.isna() | (years == int(year))
    if not keep.any():
        held = sorted(years.dropna().astype(int).unique().tolist())
        raise InputError(
            source,
            f"has no samples of {year} (its 'year' column holds {held})",
            "add samples of that year, or leave the year column empty for samples of every year",
        )
    log.info(
        "samples of %d: %d of %d (the others are of years %s)",
        year,
        int(keep.sum()),
        len(samples),
        sorted(years[~keep].dropna().astype(int).unique().tolist()),
    )
    return samples[keep].reset_index(drop=True)


def training_table(
    samples: gpd.GeoDataFrame,
    features: Mapping[str, str | Path],
    smoothed: Mapping[str, str | Path],
    *,
    tile_km: int,
    grid: GridSpec = DEFAULT_GRID,
    regions: Mapping[str, str],
    products: Sequence[str],
    year: int,
    min_count: int,
    strict_labels: bool = False,
    source: str | Path = "samples",
    split_column: str | None,
    validation_fraction: float,
    seed: int,
    season_start_month: int = 1,
    monthly: Mapping[str, str | Path] | None = None,
) -> TrainingSet:
    """Gather the input stack at the labelled points of all tiles, with each row's split.

    ``season_start_month`` (timeseries.season_start_month): the HANTS dates lie in the
    season of ``year`` that starts in that month (1 - the calendar year).

    Parameters
    ----------
    samples
        Labelled points as read by :func:`read_labelled_samples`.
    features, smoothed
        Tile id -> ``features.tif`` and ``ndvi_hants.tif`` of the year (read tile by tile).
    monthly
        Tile id -> ``monthly.tif`` (the monthly composites, bands ``monthly_*``), or
        None. Their NaN (a month without a value) stays in the table; a point is left
        out only where another feature is NaN.
    tile_km, regions
        Tile size and tile id -> region (:func:`~agrifactory.classify.regions.tile_regions`).
    grid
        The tile lattice (CRS and origin; China Albers by default).
    products
        The products whose labels the samples carry.
    year
        The year of the features; samples with another ``year`` are an error.
    min_count
        Classes with fewer samples are excluded from their product and reported.
    strict_labels, source
        Unknown labels are a warning, or with ``strict_labels`` an error naming ``source``.
    split_column
        The samples' ``split`` column holds ``train``/``validation``; None: a seeded
        stratified random ``validation_fraction`` of each stratum (region and most
        specific label) is held out (:func:`random_split`).

    Returns
    -------
    TrainingSet
        ``table`` (``sample_id, tile_id, region, x, y``, the products' codes, ``split``,
        one column per feature) and ``excluded``.
    """
    if set(features) != set(smoothed) or set(features) != set(regions):
        raise ConfigError("features, smoothed series and regions must cover the same tiles")
    if monthly is not None and set(monthly) != set(features):
        raise ConfigError("the monthly composites must cover the same tiles as the features")
    tiles = tiles_frame(list(features), tile_km, regions, grid)

    def stack(tile_id: str) -> TileStack:
        log.info("reading the input stack of tile %s at its samples", tile_id)
        return TileStack(
            features[tile_id], smoothed[tile_id], tile_id, year=year, tile_km=tile_km,
            grid=grid, season_start_month=season_start_month,
            monthly=None if monthly is None else monthly[tile_id],
        )  # fmt: skip

    ts = build_training_set(
        samples,
        tiles,
        stack,
        {p: LEGENDS[p] for p in products},
        year=year,
        min_count=min_count,
        strict_labels=strict_labels,
        source=source,
        nan_ok=(f"{MONTHLY_PREFIX}*",),
    )
    table = ts.table
    if split_column:
        split = table["sample_id"].map(samples.set_index("sample_id")["split"])
    else:
        split = random_split(table, list(products), validation_fraction, seed)
    table.insert(5, "split", pd.Series(split, index=table.index).astype(str).to_numpy())
    log_counts(table, list(products))
    return ts


def random_split(
    table: pd.DataFrame, products: Sequence[str], fraction: float, seed: int
) -> pd.Series:
    """``train``/``validation`` per row, stratified by region and the most specific label.

    The stratum of a row is its region and its label of the last product in
    ``products`` that it carries (crop type before irrigation before cropland), so
    every product's held-out share is close to ``fraction`` in every region.
    """
    if not 0 < fraction < 1:
        raise ConfigError(f"validation_fraction must be in (0, 1), got {fraction}")
    key = pd.Series("none", index=table.index, dtype=object)
    for product in products:
        has = table[product].notna()
        key[has] = product + ":" + table.loc[has, product].astype(str)
    strata = table["region"].astype(str) + "|" + key
    rng = np.random.default_rng([int(seed), 104729])
    split = pd.Series("train", index=table.index, dtype=object)
    for _, idx in sorted(strata.groupby(strata).groups.items()):
        idx = rng.permutation(np.asarray(idx))
        split.loc[idx[: int(round(fraction * len(idx)))]] = "validation"
    return split


def log_counts(table: pd.DataFrame, products: Sequence[str]) -> None:
    """Log the samples per region, split and class of every product."""
    by = [c for c in ("region", "split") if c in table.columns]
    for product in products:
        names = {v: k for k, v in LEGENDS[product].items()}
        rows = table[table[product].notna()]
        counts = rows.assign(cls=rows[product].astype(int).map(names)).groupby([*by, "cls"]).size()
        log.info("%s samples per %s and class:\n%s", product, "/".join(by), counts.to_string())


def read_training_table(path: str | Path) -> pd.DataFrame:
    """The table written by the ``training_set`` rule (label columns as nullable ints)."""
    path = Path(path)
    if not path.is_file():
        raise InputError(path, "training table not found", "run the training_set rule")
    return pd.read_parquet(path)


def region_rows(table: pd.DataFrame, product: str, region: str) -> pd.DataFrame:
    """Rows of ``region`` that carry a ``product`` label (region ``all`` of a single-region run
    is simply its name)."""
    if product not in table.columns:
        raise ConfigError(f"the training table has no {product!r} labels")
    rows = table[(table["region"] == region) & table[product].notna()]
    if rows.empty:
        raise DataError(
            f"no {product} samples in region {region!r} (regions in the table: "
            f"{sorted(table['region'].dropna().unique().tolist())}); add samples there or "
            "merge the region with a neighbour in classify.regions"
        )
    return rows.reset_index(drop=True)


def drop_rare_classes(
    rows: pd.DataFrame, product: str, min_count: int, split_column: str | None
) -> tuple[pd.DataFrame, dict[str, int]]:
    """Remove classes with fewer than ``min_count`` training samples in this region.

    Returns the remaining rows and ``{class name: training samples}`` of the removed
    classes (logged as a warning and kept in the model's metrics).
    """
    names = {v: k for k, v in LEGENDS[product].items()}
    train = rows if split_column is None else rows[rows[split_column] == "train"]
    counts = train[product].astype(int).value_counts()
    codes = rows[product].astype(int)
    rare = {int(c): int(counts.get(c, 0)) for c in codes.unique() if counts.get(c, 0) < min_count}
    if not rare:
        return rows, {}
    dropped = {names[c]: n for c, n in rare.items()}
    log.warning(
        "%s: classes %s have fewer than %d training samples in this region; left out of its "
        "model (their validation samples still count as errors)",
        product,
        dropped,
        min_count,
    )
    return rows[~codes.isin(list(rare))].reset_index(drop=True), dropped


def with_threads(kind: str, params: Mapping[str, Any] | None, threads: int) -> dict[str, Any]:
    """Model parameters with ``num_threads`` set to ``threads`` unless the config sets it."""
    out = dict(params or {})
    if kind in THREADED:
        out.setdefault("num_threads", int(threads))
    return out


def separability_table(
    rows: pd.DataFrame, product: str, features: Sequence[str] | None, split_column: str | None
) -> pd.DataFrame:
    """Jeffries-Matusita distance of every class pair on the training samples' features."""
    train = rows if split_column is None else rows[rows[split_column] == "train"]
    reserved = {"sample_id", "tile_id", "region", "x", "y", "year", "split", *PRODUCTS}
    names = select_features([c for c in rows.columns if c not in reserved], features)
    jm = pairwise_jm(train[names].to_numpy(dtype=float), train[product].astype(int).to_numpy())
    labels = {v: k for k, v in LEGENDS[product].items()}
    jm.insert(1, "name_a", jm["class_a"].map(labels))
    jm.insert(3, "name_b", jm["class_b"].map(labels))
    jm["n_features"] = len(names)
    for row in jm.itertuples():
        log.info(
            "Jeffries-Matusita distance %s vs %s: %.4f (%d and %d training samples, %d features)",
            row.name_a,
            row.name_b,
            row.jm,
            row.n_a,
            row.n_b,
            row.n_features,
        )
    return jm


def fit_product(
    table: pd.DataFrame,
    product: str,
    region: str,
    *,
    kind: str,
    params: Mapping[str, Any] | None = None,
    features: Sequence[str] | None = None,
    seed: int = 0,
    split_column: str | None = "split",
    validation_fraction: float = 0.3,
    min_count: int,
    reselect_below: float | None = None,
    threads: int = 1,
    separability: bool = False,
    name: str | None = None,
) -> tuple[Any, pd.DataFrame, pd.DataFrame | None]:
    """Fit one product's model for one region from the training table.

    Training rows are the region's samples with ``split == 'train'`` (or a stratified
    random ``validation_fraction`` hold-out when ``split_column`` is None); the
    validation report scores the model on the region's held-out samples. With
    ``separability`` the Jeffries-Matusita distances of the training samples are
    computed before the model is fitted. ``name`` labels the model in the report's
    ``model`` column (default: its kind).

    Returns
    -------
    model, report, jm
        The fitted model (with ``region`` and ``classes_left_out`` in its metrics), its
        validation report and the JM table (None without ``separability``).
    """

    rows = region_rows(table, product, region)
    rows, dropped = drop_rare_classes(rows, product, min_count, split_column)
    jm = separability_table(rows, product, features, split_column) if separability else None
    model, report = train_from_table(
        rows,
        product,
        LEGENDS[product],
        kind=kind,
        params=with_threads(kind, params, threads),
        features=features,
        seed=seed,
        validation_fraction=validation_fraction,
        split_column=split_column,
        reselect_below=reselect_below,
    )
    model.metrics.update({"region": region, "classes_left_out": dropped})
    if not report.empty:
        report.insert(1, "region", region)
        report.insert(2, "model", name or kind)
    return model, report, jm


def model_threads(model: Any, threads: int) -> None:
    """Let a loaded model predict with ``threads`` threads (results do not depend on it)."""
    if model.kind in THREADED:
        model.params["num_threads"] = int(threads)
