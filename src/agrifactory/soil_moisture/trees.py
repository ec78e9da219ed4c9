"""Compiled evaluation of LightGBM regression trees for space-time grids.

A tile-year is a few million rows that share structure: static features (DEM,
texture, location) repeat for every day of a pixel, the day of year repeats for
every pixel of a day. :func:`predict_space_time` never builds the full
``(days x pixels, features)`` matrix: it keeps static features once per pixel,
dynamic ones per pixel-day, and assembles small row blocks on the fly, then
evaluates the trees with Numba, one tree at a time over a block so the tree's
nodes stay in cache. Trees no deeper than :data:`MAX_HEAP_DEPTH` (the
downscaler's default is 5) are stored as complete binary trees in heap order
(children of node ``k`` at ``2k+1`` and ``2k+2``, shallower leaves padded with
never-taken splits), so every row takes exactly ``depth`` branch-free steps;
deeper trees are walked node by node. Results equal ``Booster.predict`` on the
same rows (same float64 comparisons and summation order);
``benchmarks/bench_soil_moisture.py`` measures the speed against it.

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
#: Deepest trees stored in heap order (2**depth leaves per tree).
MAX_HEAP_DEPTH = 10


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
    depth: int  # of the deepest tree
    heap_feature: np.ndarray  # int32 (n_trees, 2**depth - 1); empty when too deep
    heap_threshold: np.ndarray  # float64, same shape; +inf pads shallower leaves
    heap_leaf: np.ndarray  # float64 (n_trees, 2**depth)

    @property
    def uses_heap(self) -> bool:
        return self.heap_leaf.size > 0

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
        left_a, right_a = np.asarray(left, np.int32), np.asarray(right, np.int32)
        roots_a = np.asarray(roots, np.int32)
        depth = max((_depth(r, left_a, right_a) for r in roots_a), default=0)
        heap = _heap(roots_a, feat, thr, left_a, right_a, leaves, depth)
        return cls(
            np.asarray(feat, np.int32),
            np.asarray(thr, np.float64),
            left_a,
            right_a,
            np.asarray(leaves, np.float64),
            roots_a,
            int(dump["max_feature_idx"]) + 1,
            depth,
            *heap,
        )

    def predict(self, x: np.ndarray) -> np.ndarray:
        """Predict rows of a ``(n, n_features)`` matrix (NaN in a row gives NaN)."""
        x = np.ascontiguousarray(x, dtype=np.float32)
        if x.ndim != 2 or x.shape[1] != self.n_features:
            raise ValueError(f"expected (n, {self.n_features}) features, got {x.shape}")
        out = np.empty((1, x.shape[0]), dtype=np.float64)
        source = np.zeros(self.n_features, dtype=np.int8)
        column = np.arange(self.n_features, dtype=np.int32)
        _predict(
            x, x[None, :, :0], np.zeros((1, 0), np.float32), source, column, self.arrays(), out
        )
        return out[0]

    def arrays(self) -> tuple:
        """The arrays the Numba kernels take, in their order."""
        return (
            self.feature,
            self.threshold,
            self.left,
            self.right,
            self.leaf_value,
            self.roots,
            self.uses_heap,
            self.heap_feature,
            self.heap_threshold,
            self.heap_leaf,
            self.depth,
        )


def _depth(node: int, left: np.ndarray, right: np.ndarray) -> int:
    if node < 0:
        return 0
    return 1 + max(_depth(int(left[node]), left, right), _depth(int(right[node]), left, right))


def _heap(roots, feat, thr, left, right, leaves, depth):
    """Complete-binary-tree arrays of every tree, or empty arrays when too deep."""
    n_trees = len(roots)
    if depth > MAX_HEAP_DEPTH:
        return np.zeros((0, 0), np.int32), np.zeros((0, 0)), np.zeros((0, 0))
    n_inner = 2**depth - 1
    h_feat = np.zeros((n_trees, n_inner), np.int32)
    h_thr = np.full((n_trees, n_inner), np.inf)
    h_leaf = np.zeros((n_trees, 2**depth))

    def fill(t: int, node: int, k: int, level: int) -> None:
        if level == depth:
            h_leaf[t, k - n_inner] = leaves[~node]
            return
        if node < 0:  # a leaf above the bottom: pad with a split no row takes (x > +inf)
            fill(t, node, 2 * k + 1, level + 1)
            fill(t, node, 2 * k + 2, level + 1)
            return
        h_feat[t, k] = feat[node]
        h_thr[t, k] = thr[node]
        fill(t, int(left[node]), 2 * k + 1, level + 1)
        fill(t, int(right[node]), 2 * k + 2, level + 1)

    for t, root in enumerate(roots):
        fill(t, int(root), 0, 0)
    return h_feat, h_thr, h_leaf


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
def _heap_block(rows, m, h_feat, h_thr, h_leaf, depth, node, acc):
    n_inner = h_thr.shape[1]
    for t in range(h_leaf.shape[0]):
        f = h_feat[t]
        th = h_thr[t]
        lv = h_leaf[t]
        node[:m] = 0
        for _ in range(depth):
            for i in range(m):
                k = node[i]
                node[i] = 2 * k + 1 + (np.float64(rows[i, f[k]]) > th[k])
        for i in range(m):
            acc[i] += lv[node[i] - n_inner]


@numba.njit(cache=True, nogil=True)
def _predict(static, dynamic, per_day, source, column, model, out):
    """Fill ``out`` (days, places); row features come from the three groups via source/column."""
    feature, threshold, left, right, leaf_value, roots = model[:6]
    use_heap, h_feat, h_thr, h_leaf, depth = model[6:]
    n_days, n_pix = out.shape
    f = source.shape[0]
    block = 256
    rows = np.empty((block, f), dtype=np.float32)
    acc = np.zeros(block)
    node = np.zeros(block, dtype=np.int64)
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
            if use_heap:
                _heap_block(rows, m, h_feat, h_thr, h_leaf, depth, node, acc)
            else:
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
    _predict(static, dynamic, per_day, source, column, trees.arrays(), out)
    return out.astype(np.float32)
