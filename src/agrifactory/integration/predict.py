"""Rule ``integrate`` on one tile: the integrated map, the other maps as classes, contributions."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from agrifactory import legend
from agrifactory.integration.blocks import BlockLattice, feature_columns, group_of
from agrifactory.integration.models import majority_vote, model_input, predict, vote

if TYPE_CHECKING:
    import lightgbm as lgb

#: Every how many pixels (in rows and in columns) the contributions are sampled.
CONTRIBUTION_STRIDE = 8


def pixel_features(
    proba: np.ndarray,
    fractions: Mapping[str, np.ndarray],
    blocks: pd.DataFrame,
    lattice: BlockLattice,
    rows: np.ndarray,
    cols: np.ndarray,
) -> pd.DataFrame:
    """The integration model's features of the pixels at ``(rows, cols)``: the factory
    probability, each product's fraction and the features of the pixel's block."""
    b = lattice.block_px
    block_of = (rows // b) * lattice.shape[1] + cols // b
    table = {"proba": proba[rows, cols].astype(float)}
    for name, frac in fractions.items():
        table[f"value_{name}"] = frac[rows, cols].astype(float)
    names = feature_columns(blocks.columns)
    features = blocks[names].to_numpy(dtype=float)[block_of]
    return pd.concat([pd.DataFrame(table), pd.DataFrame(features, columns=names)], axis=1)


def integrate_tile(
    booster: lgb.Booster,
    factory: np.ndarray,
    proba: np.ndarray,
    fractions: Mapping[str, np.ndarray],
    blocks: pd.DataFrame,
    lattice: BlockLattice,
) -> tuple[np.ndarray, np.ndarray, dict[str, np.ndarray]]:
    """The integrated cropland classes and probability, and every map as classes.

    Returns ``(classes, probability, maps)``: classes uint8 (0 other, 1 cropland,
    :data:`agrifactory.legend.NODATA` where the factory's map has no data),
    probability float32 (NaN there), and ``maps``: uint8 class rasters of the
    factory, every product (fraction >= 0.5; nodata where it has none), the majority
    vote and the integrated map, in that order.
    """
    valid = (factory == 0) | (factory == 1)
    p = np.full(factory.shape, np.nan, dtype=np.float32)
    step = lattice.block_px
    w = factory.shape[1]
    for r0 in range(0, factory.shape[0], step):
        rows, cols = np.divmod(np.arange(r0 * w, min(r0 + step, factory.shape[0]) * w), w)
        X = pixel_features(proba, fractions, blocks, lattice, rows, cols)
        p[r0 : r0 + step] = predict(booster, X).reshape(-1, w)
    p[~valid] = np.nan
    classes = np.where(valid, (p >= 0.5).astype(np.uint8), legend.NODATA).astype(np.uint8)
    votes = {"factory": np.where(valid, factory, np.nan).astype(float)}
    for name, frac in fractions.items():
        votes[name] = vote(frac)
    flat = {k: v.ravel() for k, v in votes.items()}
    majority = majority_vote(flat, tie=flat["factory"]).reshape(factory.shape)
    maps = {name: _classes(v, valid) for name, v in votes.items()}
    maps["majority"] = _classes(majority, valid)
    maps["integrated"] = classes
    return classes, p, maps


def map_block_fractions(
    maps: Mapping[str, np.ndarray], lattice: BlockLattice, block_ids: np.ndarray
) -> pd.DataFrame:
    """Every map's cropland fraction in every block (``block_id``, ``map``, ``fraction``,
    ``coverage``: the share of the block where the map has data; fraction NaN without)."""
    parts = []
    for name, m in maps.items():
        has = m != legend.NODATA
        crop = np.where(has, m == 1, np.nan)
        parts.append(
            pd.DataFrame(
                {
                    "block_id": block_ids,
                    "map": name,
                    "fraction": lattice.mean(crop).ravel(),
                    "coverage": lattice.mean(has.astype(float)).ravel(),
                }
            )
        )
    return pd.concat(parts, ignore_index=True)


def _classes(values: np.ndarray, valid: np.ndarray) -> np.ndarray:
    ok = valid & ~np.isnan(values)
    return np.where(ok, np.nan_to_num(values), legend.NODATA).astype(np.uint8)


def contribution_table(
    booster: lgb.Booster,
    proba: np.ndarray,
    fractions: Mapping[str, np.ndarray],
    blocks: pd.DataFrame,
    lattice: BlockLattice,
    maps: Mapping[str, np.ndarray],
) -> pd.DataFrame:
    """How much each input moved the integrated map: mean absolute SHAP contribution
    (LightGBM ``pred_contrib``, log-odds) of every feature over a regular sample of the
    tile's pixels, with its group, and every map's agreement with the integrated one."""
    h, w = proba.shape
    rows, cols = np.meshgrid(
        np.arange(0, h, CONTRIBUTION_STRIDE), np.arange(0, w, CONTRIBUTION_STRIDE), indexing="ij"
    )
    rows, cols = rows.ravel(), cols.ravel()
    keep = ~np.isnan(proba[rows, cols])
    X = pixel_features(proba, fractions, blocks, lattice, rows[keep], cols[keep])
    X = X[booster.feature_name()]
    contrib = booster.predict(model_input(X), pred_contrib=True)[:, :-1]
    names = booster.feature_name()
    table = pd.DataFrame(
        {
            "kind": "shap_mean_abs",
            "name": names,
            "group": [group_of(n) for n in names],
            "value": np.abs(contrib).mean(axis=0) if len(X) else np.nan,
        }
    )
    integrated = maps["integrated"]
    agree = []
    for name, m in maps.items():
        if name == "integrated":
            continue
        both = (m != legend.NODATA) & (integrated != legend.NODATA)
        share = float(np.mean(m[both] == integrated[both])) if both.any() else np.nan
        agree.append({"kind": "agreement", "name": name, "group": "map", "value": share})
    return pd.concat([table, pd.DataFrame(agree)], ignore_index=True)
