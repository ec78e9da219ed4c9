"""Compiled evaluation of LightGBM regression trees for space-time grids.

A tile-year is a few million rows that share structure: static features (DEM,
texture, location) repeat for every day of a pixel, the day of year repeats for
every pixel of a day. :func:`predict_space_time` never builds the full
``(days x pixels, features)`` matrix: it keeps static features once per pixel,
dynamic ones per pixel-day, and assembles small row blocks on the fly, then
walks the trees with Numba, one tree at a time over a block so the tree's nodes
stay in cache. Results equal ``Booster.predict`` on the same rows (same
float64 comparisons and summation order); ``benchmarks/bench_soil_moisture.py``
measures the speed against it.

Supported: numerical splits (``<=``) of regression models; a row with a NaN
feature gets NaN (the factory never lets a missing driver be routed silently
down a default branch). Categorical splits or zero-as-missing models raise a
clear error; use ``Booster.predict`` for those.
"""

from __future__ import annotations

from dataclasses import dataclass

import lightgbm as lgb
import numba
import numpy as np

from agrifactory.errors import ConfigError

STATIC, DYNAMIC, PER_DAY = 0, 1, 2


@dataclass(frozen=True)
class CompiledTrees:
    """Flattened trees: per node feature, threshold, children; leaves as negative ids."""

    feature: np.ndarray  # int32 (n_nodes,)
    threshold: np.ndarray  # float64 (n_nodes,)
    left: np.ndarray  # int32: >= 0 node id, < 0 leaf ~id
    right: np.ndarray
    leaf_value: np.ndarray  # float64 (n_leaves,)
    roots: np.ndarray  # int32 (n_trees,): node id, or ~leaf for a single-leaf tree
    n_features: int

    @classmethod
    def from_booster(cls, booster: lgb.Booster) -> CompiledTrees:
        """Flatten a trained LightGBM regression booster."""
        dump = booster.dump_model()
        if dump.get("objective", "regression").split()[0] not in (
            "regression",
            "regression_l1",
            "huber",
            "fair",
            "quantile",
        ):
            raise ConfigError(f"compiled trees support regression models, not {dump['objective']}")
        feat, thr, left, right, leaves, roots = [], [], [], [], [], []

        def walk(node: dict) -> int:
            if "split_index" not in node:
                leaves.append(float(node["leaf_value"]))
                return ~(len(leaves) - 1)
            if node.get("decision_type", "<=") != "<=" or node.get("missing_type") == "Zero":
                raise ConfigError(
                    "compiled trees support numerical '<=' splits without zero-as-missing; "
                    "predict this model with Booster.predict"
                )
            i = len(feat)
            feat.append(int(node["split_feature"]))
            thr.append(float(node["threshold"]))
            left.append(0)
            right.append(0)
            left[i] = walk(node["left_child"])
            right[i] = walk(node["right_child"])
            return i

        for tree in dump["tree_info"]:
            roots.append(walk(tree["tree_structure"]))
        return cls(
            np.asarray(feat, np.int32),
            np.asarray(thr, np.float64),
            np.asarray(left, np.int32),
            np.asarray(right, np.int32),
            np.asarray(leaves, np.float64),
            np.asarray(roots, np.int32),
            int(dump["max_feature_idx"]) + 1,
        )

    def predict(self, x: np.ndarray) -> np.ndarray:
        """Predict rows of a ``(n, n_features)`` matrix (NaN in a row gives NaN)."""
        x = np.ascontiguousarray(x, dtype=np.float32)
        if x.ndim != 2 or x.shape[1] != self.n_features:
            raise ValueError(f"expected (n, {self.n_features}) features, got {x.shape}")
        out = np.empty(x.shape[0], dtype=np.float64)
        _predict_rows(
            x, self.feature, self.threshold, self.left, self.right, self.leaf_value, self.roots, out
        )
        return out


@numba.njit(cache=True, nogil=True)
def _walk_block(rows, m, feature, threshold, left, right, leaf_value, roots, acc):
    for t in range(roots.shape[0]):
        root = roots[t]
        if root < 0:
            v = leaf_value[~root]
            for i in range(m):
                acc[i] += v
            continue
        for i in range(m):
            node = root
            while node >= 0:
                if np.float64(rows[i, feature[node]]) <= threshold[node]:
                    node = left[node]
                else:
                    node = right[node]
            acc[i] += leaf_value[~node]


@numba.njit(cache=True, nogil=True)
def _predict_rows(x, feature, threshold, left, right, leaf_value, roots, out):
    n, f = x.shape
    block = 256
    acc = np.zeros(block)
    for s in range(0, n, block):
        m = min(block, n - s)
        acc[:m] = 0.0
        _walk_block(x[s : s + m], m, feature, threshold, left, right, leaf_value, roots, acc)
        for i in range(m):
            bad = False
            for j in range(f):
                if np.isnan(x[s + i, j]):
                    bad = True
                    break
            out[s + i] = np.nan if bad else acc[i]


@numba.njit(cache=True, nogil=True)
def _predict_space_time(
    static,
    dynamic,
    per_day,
    source,
    column,
    feature,
    threshold,
    left,
    right,
    leaf_value,
    roots,
    out,
):
    n_days, n_pix = out.shape
    f = source.shape[0]
    block = 256
    rows = np.empty((block, f), dtype=np.float32)
    acc = np.zeros(block)
    bad = np.zeros(block, dtype=np.bool_)
    for t in range(n_days):
        for s in range(0, n_pix, block):
            m = min(block, n_pix - s)
            for i in range(m):
                p = s + i
                bad[i] = False
                for j in range(f):
                    if source[j] == 0:
                        v = static[p, column[j]]
                    elif source[j] == 1:
                        v = dynamic[t, p, column[j]]
                    else:
                        v = per_day[t, column[j]]
                    rows[i, j] = v
                    if np.isnan(v):
                        bad[i] = True
                acc[i] = 0.0
            _walk_block(rows, m, feature, threshold, left, right, leaf_value, roots, acc)
            for i in range(m):
                out[t, s + i] = np.nan if bad[i] else acc[i]


def predict_space_time(
    trees: CompiledTrees,
    static: np.ndarray,
    dynamic: np.ndarray,
    per_day: np.ndarray,
    layout: list[tuple[int, int]],
) -> np.ndarray:
    """Predict every pixel-day without materialising the full feature matrix.

    Parameters
    ----------
    trees
        The compiled model.
    static, dynamic, per_day
        ``(n_pix, Fs)``, ``(n_days, n_pix, Fd)`` and ``(n_days, Fp)`` float32 arrays.
    layout
        For each model feature in order, ``(source, column)`` with source
        :data:`STATIC`, :data:`DYNAMIC` or :data:`PER_DAY`.

    Returns
    -------
    numpy.ndarray
        ``(n_days, n_pix)`` float32 predictions; NaN where a feature is NaN.
    """
    if len(layout) != trees.n_features:
        raise ValueError(f"layout has {len(layout)} features, the model {trees.n_features}")
    static = np.ascontiguousarray(static, dtype=np.float32)
    dynamic = np.ascontiguousarray(dynamic, dtype=np.float32)
    per_day = np.ascontiguousarray(per_day, dtype=np.float32)
    source = np.asarray([s for s, _ in layout], dtype=np.int8)
    column = np.asarray([c for _, c in layout], dtype=np.int32)
    out = np.empty((dynamic.shape[0], static.shape[0]), dtype=np.float64)
    _predict_space_time(
        static,
        dynamic,
        per_day,
        source,
        column,
        trees.feature,
        trees.threshold,
        trees.left,
        trees.right,
        trees.leaf_value,
        trees.roots,
        out,
    )
    return out.astype(np.float32)
