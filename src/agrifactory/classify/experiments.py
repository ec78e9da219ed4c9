"""The experiments behind the rules ``active_learning``, ``active_learning_simulation``
and ``transfer`` (their files are read and written by :mod:`agrifactory.classify.rules`).

* Proposals: a random pool of classified pixels of every tile, ranked by the
  uncertainty of the written class probabilities and spread in space
  (:func:`~agrifactory.classify.active_learning.propose_samples`), away from the
  samples already labelled; a GeoPackage for a person to label.
* Simulation (demo): rounds of uncertainty sampling against random sampling from a
  pool of pixels whose labels come from an oracle raster (the demo truth), scored
  on the held-out validation samples.
* Transfer: a model trained on one region's training samples, scored on that
  region's validation samples and on all samples of another region, without and
  with temporal augmentation.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
from scipy import ndimage

from agrifactory.classify.active_learning import (
    proposals_frame,
    propose_samples,
    simulate_active_learning,
)
from agrifactory.classify.base import select_features
from agrifactory.classify.cnn2d import MONTHLY_PREFIX
from agrifactory.classify.dataset import with_threads
from agrifactory.classify.design import values_at_points
from agrifactory.classify.legend import LEGENDS, PRODUCTS
from agrifactory.classify.models import make_model
from agrifactory.classify.stack import TileStack
from agrifactory.classify.transfer import cnn_factory, transfer_experiment
from agrifactory.errors import ConfigError, DataError, InputError
from agrifactory.grid import ALBERS
from agrifactory.io.raster import open_raster

log = logging.getLogger(__name__)

RESERVED = {"sample_id", "tile_id", "region", "x", "y", "year", "split", *PRODUCTS}


def _feature_columns(table: pd.DataFrame, patterns: Sequence[str] | None) -> list[str]:
    return select_features([c for c in table.columns if c not in RESERVED], patterns)


def _tile_rng(seed: int, index: int) -> np.random.Generator:
    return np.random.default_rng([int(seed), 7919, int(index)])


def _pixel_xy(transform, flat: np.ndarray, width: int) -> np.ndarray:
    r, c = np.divmod(flat, width)
    x, y = transform * (c + 0.5, r + 0.5)
    return np.column_stack([x, y])


def probability_pool(
    proba_paths: Mapping[str, str | Path], pool_per_tile: int, seed: int
) -> tuple[np.ndarray, np.ndarray, list[int], list[str]]:
    """A random pool of predicted pixels from the probability COGs of all tiles.

    Returns ``xy (n, 2)``, ``proba (n, K)`` over the union of the tiles' classes (a
    class a region's model lacks has probability 0 there), the class codes and pool
    ids ``<tile>_r<row>_c<col>``.
    """
    parts = []
    for i, (tile, path) in enumerate(proba_paths.items()):
        with open_raster(path) as src:
            data = src.read()
            tag = src.tags().get("classes")
            transform, width = src.transform, src.width
        if not tag:
            raise InputError(path, "has no 'classes' tag", "rerun the classify rule")
        codes = [int(c) for c in tag.split(",")]
        flat = data.reshape(len(codes), -1)
        valid = np.flatnonzero(np.all(np.isfinite(flat), axis=0))
        if len(valid) == 0:
            continue
        pick = np.sort(_tile_rng(seed, i).choice(valid, min(pool_per_tile, len(valid)), False))
        r, c = np.divmod(pick, width)
        ids = [f"{tile}_r{a}_c{b}" for a, b in zip(r, c, strict=True)]
        parts.append((_pixel_xy(transform, pick, width), flat[:, pick].T, codes, ids))
    if not parts:
        raise DataError("no tile has a predicted pixel to propose")
    classes = sorted({c for p in parts for c in p[2]})
    proba = np.zeros((sum(len(p[0]) for p in parts), len(classes)))
    start = 0
    for _, p, codes, _ in parts:
        proba[start : start + len(p), [classes.index(c) for c in codes]] = p
        start += len(p)
    xy = np.concatenate([p[0] for p in parts])
    ids = [i for p in parts for i in p[3]]
    return xy, proba, classes, ids


def propose(
    proba_paths: Mapping[str, str | Path],
    labelled: np.ndarray,
    product: str,
    *,
    k: int,
    method: str,
    min_distance: float,
    pool_per_tile: int,
    seed: int,
) -> gpd.GeoDataFrame:
    """The next ``k`` samples to label, away from the ``labelled (n, 2)`` points."""
    xy, proba, classes, ids = probability_pool(proba_paths, pool_per_tile, seed)
    picks = propose_samples(
        proba, xy, k, method=method, min_distance=min_distance, labelled_xy=labelled
    )
    names = {v: n for n, v in LEGENDS[product].items()}
    log.info(
        "%s: proposed %d of a pool of %d pixels (uncertainty %s, spacing %g m, %d labelled)",
        product,
        len(picks),
        len(xy),
        method,
        min_distance,
        len(labelled),
    )
    return proposals_frame(
        xy, picks, proba, classes, crs=ALBERS, ids=ids, class_names=names, method=method
    )


def oracle_pool(
    stacks: Mapping[str, tuple[str | Path, ...]],
    oracle_path: str | Path,
    product: str,
    *,
    year: int,
    tile_km: int,
    pool_per_tile: int,
    seed: int,
    interior: bool = True,
) -> tuple[pd.DataFrame, np.ndarray, np.ndarray]:
    """Random pixels of every tile with the oracle's label among the product's classes.

    With ``interior`` only pixels whose 3x3 neighbourhood holds one oracle class are
    pooled: field interiors, as surveyors label them (the demo's samples are drawn
    the same way); mixed pixels on field edges are left out.

    ``stacks``: tile -> ``(features, smoothed)`` or ``(features, smoothed, monthly)``.
    Returns the features (a DataFrame named like the training table), the oracle
    codes and the pixel centres ``(n, 2)``.
    """
    classes = list(LEGENDS[product].values())
    frames, labels, coords = [], [], []
    for i, (tile, (features, smoothed, *monthly)) in enumerate(stacks.items()):
        monthly_path = monthly[0] if monthly else None
        ts = TileStack(features, smoothed, tile, monthly=monthly_path, year=year, tile_km=tile_km)
        data = ts.read().reshape(len(ts.feature_names), -1)
        flat = np.arange(data.shape[1])
        xy = _pixel_xy(ts.transform, flat, ts.shape[1])
        truth = values_at_points(oracle_path, xy[:, 0], xy[:, 1]).astype(np.int64)
        required = [not n.startswith(MONTHLY_PREFIX) for n in ts.feature_names]
        usable = np.isin(truth, classes) & np.all(np.isfinite(data[required]), axis=0)
        if interior:
            grid = truth.reshape(ts.shape)
            same = ndimage.maximum_filter(grid, 3) == ndimage.minimum_filter(grid, 3)
            usable &= same.ravel()
        ok = np.flatnonzero(usable)
        pick = np.sort(_tile_rng(seed, i).choice(ok, min(pool_per_tile, len(ok)), False))
        frames.append(pd.DataFrame(data[:, pick].T, columns=ts.feature_names))
        labels.append(truth[pick])
        coords.append(xy[pick])
    return pd.concat(frames, ignore_index=True), np.concatenate(labels), np.concatenate(coords)


def simulate(
    stacks: Mapping[str, tuple[str | Path, ...]],
    oracle_path: str | Path,
    table: pd.DataFrame,
    product: str,
    *,
    kind: str,
    params: Mapping[str, Any] | None = None,
    features: Sequence[str] | None = None,
    year: int,
    tile_km: int,
    pool_per_tile: int,
    initial: int,
    batch: int,
    rounds: int,
    method: str,
    min_distance: float,
    seed: int = 0,
    threads: int = 1,
    interior: bool,
    priority_of: Callable[[np.ndarray], tuple[np.ndarray, np.ndarray]] | None = None,
) -> pd.DataFrame:
    """Active learning against random sampling with an oracle raster, scored on the
    training ``table``'s held-out validation samples: the learning curves.
    ``priority_of`` (pixel centres ``(n, 2)`` -> priority and group) adds the priority-guided
    strategy (:func:`~agrifactory.classify.active_learning.simulate_active_learning`)."""
    X_pool, y_pool, xy_pool = oracle_pool(
        stacks,
        oracle_path,
        product,
        year=year,
        tile_km=tile_km,
        pool_per_tile=pool_per_tile,
        seed=seed,
        interior=interior,
    )
    test = table[(table["split"] == "validation") & table[product].notna()]
    names = _feature_columns(table, features)
    model_params = with_threads(kind, params, threads)
    log.info(
        "%s active learning: pool %d pixels, test %d validation samples, %s on %d features",
        product,
        len(y_pool),
        len(test),
        kind,
        len(names),
    )
    curve = simulate_active_learning(
        lambda: make_model(kind, model_params),
        X_pool[names].to_numpy(dtype=float),
        y_pool,
        xy_pool,
        test[names].to_numpy(dtype=float),
        test[product].astype(int).to_numpy(),
        initial=initial,
        batch=batch,
        rounds=rounds,
        method=method,
        min_distance=min_distance,
        seed=seed,
        priority=None if priority_of is None else priority_of(xy_pool),
        feature_names=names,
    )
    curve.insert(0, "product", product)
    return curve


def transfer(
    table: pd.DataFrame,
    product: str,
    *,
    source: str,
    target: str,
    params: Mapping[str, Any] | None = None,
    features: Sequence[str] | None = None,
    augment: Mapping[str, float] | None = None,
    seed: int = 0,
    threads: int = 1,
) -> pd.DataFrame:
    """Train the CNN on ``source``'s training samples; score it on ``source``'s validation
    samples and on every labelled sample of ``target``, without and with augmentation."""
    regions = sorted(table["region"].dropna().unique().tolist())
    for name in (source, target):
        if name not in regions:
            raise ConfigError(f"classify.transfer: region {name!r} is not among {regions}")
    rows = table[table[product].notna()]
    src, tgt = rows[rows["region"] == source], rows[rows["region"] == target]
    names = _feature_columns(table, features)
    result = transfer_experiment(
        cnn_factory(with_threads("cnn1d", params, threads), augment),
        src[names].to_numpy(dtype=float),
        src[product].astype(int).to_numpy(),
        tgt[names].to_numpy(dtype=float),
        tgt[product].astype(int).to_numpy(),
        source_holdout=(src["split"] == "validation").to_numpy(),
        seed=seed,
    )
    result.insert(0, "product", product)
    result.insert(1, "source", source)
    result.insert(2, "target", target)
    return result
