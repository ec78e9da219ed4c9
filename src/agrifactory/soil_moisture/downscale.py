"""LightGBM downscaling of coarse daily soil moisture to 1 km, with a residual correction.

Training: one LightGBM regressor per layer, on every (reanalysis cell, day) with
the drivers aggregated to the cell (area-weighted), the day of year and the
cell's position as features. Prediction: the same model on 1 km driver values.
Residual correction (on by default): per cell and day, the 1 km values of the
cell are shifted by one common amount so their mean equals the reanalysis
value exactly (an additive correction; it keeps the 1 km pattern and moves its
level). Values are not clipped afterwards: a clip would break the identity, and
the count of values outside [0, 1] is logged instead.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

import lightgbm as lgb
import numpy as np

from agrifactory.backend import array_namespace
from agrifactory.errors import DataError, InputError
from agrifactory.io.files import write_text_atomic
from agrifactory.soil_moisture.features import FEATURES, FeatureBlock, layout
from agrifactory.soil_moisture.rules import DownscalingSettings
from agrifactory.soil_moisture.trees import CompiledTrees, predict_space_time

log = logging.getLogger(__name__)

MODEL_FORMAT = "agrifactory-sm-downscaler/1"

#: LightGBM settings the config does not expose: one thread and a fixed seed keep the
#: downscaler deterministic.
FIXED_LGBM_PARAMS: dict[str, Any] = {
    "objective": "regression",
    "bagging_freq": 1,
    "num_threads": 1,
    "deterministic": True,
    "force_row_wise": True,
    "verbose": -1,
}
#: Order of the parameters given to LightGBM and recorded in the model file.
LGBM_ORDER = (
    "objective",
    "learning_rate",
    "num_leaves",
    "max_depth",
    "min_data_in_leaf",
    "feature_fraction",
    "bagging_fraction",
    "bagging_freq",
    "lambda_l2",
    "num_threads",
    "deterministic",
    "force_row_wise",
    "verbose",
)
_DEFAULTS = DownscalingSettings()
#: LightGBM settings of the downscaler (overridable): the config's defaults
#: (``soil_moisture.downscaling``) and the fixed ones.
DEFAULT_LGBM_PARAMS: dict[str, Any] = {
    k: {**FIXED_LGBM_PARAMS, **_DEFAULTS.lgbm_params()}[k] for k in LGBM_ORDER
}
DEFAULT_ROUNDS = _DEFAULTS.rounds


@dataclass
class DownscalerModel:
    """One booster per layer plus what is needed to use and audit them."""

    boosters: dict[str, lgb.Booster]
    features: list[str] = field(default_factory=lambda: list(FEATURES))
    meta: dict[str, Any] = field(default_factory=dict)

    @cached_property
    def compiled(self) -> dict[str, CompiledTrees]:
        return {k: CompiledTrees.from_booster(b) for k, b in self.boosters.items()}

    @property
    def layers(self) -> list[str]:
        return list(self.boosters)

    def save(self, path: str | Path) -> Path:
        """Write the model as one JSON file (atomically)."""
        doc = {
            "format": MODEL_FORMAT,
            "features": self.features,
            "meta": self.meta,
            "layers": {k: b.model_to_string() for k, b in self.boosters.items()},
        }
        write_text_atomic(path, json.dumps(doc))
        return Path(path)

    @classmethod
    def load(cls, path: str | Path) -> DownscalerModel:
        """Read a model written by :meth:`save`; a foreign or outdated file is an InputError."""
        path = Path(path)
        try:
            doc = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise InputError(path, f"cannot be read as a downscaler model ({exc})") from None
        if doc.get("format") != MODEL_FORMAT:
            raise InputError(
                path, f"format {doc.get('format')!r}, expected {MODEL_FORMAT!r}", "retrain it"
            )
        if doc.get("features") != list(FEATURES):
            raise InputError(
                path,
                f"model features {doc.get('features')} differ from this version's {list(FEATURES)}",
                "retrain the downscaler",
            )
        boosters = {k: lgb.Booster(model_str=s) for k, s in doc["layers"].items()}
        return cls(boosters, doc["features"], doc.get("meta", {}))


def train_layer(
    block: FeatureBlock,
    target: np.ndarray,
    *,
    params: Mapping[str, Any] | None = None,
    rounds: int = DEFAULT_ROUNDS,
    seed: int = 0,
) -> lgb.Booster:
    """Fit one LightGBM model on coarse cells x days.

    ``target`` is ``(T, n_cells)``; rows with a missing target or feature are left out.
    """
    x = block.matrix()
    y = np.asarray(target, np.float64).reshape(-1)
    ok = np.isfinite(y) & np.isfinite(x).all(axis=1)
    if ok.sum() < 100:
        raise DataError(
            f"only {int(ok.sum())} complete (cell, day) rows to train the downscaler on; "
            "check that drivers and reanalysis overlap in space and time"
        )
    if (~ok).any():
        log.debug(
            "downscaler training: %d of %d rows lack a target or driver", (~ok).sum(), ok.size
        )
    p = {**DEFAULT_LGBM_PARAMS, **(params or {}), "seed": seed}
    data = lgb.Dataset(x[ok], y[ok], feature_name=list(FEATURES), free_raw_data=True)
    return lgb.train(p, data, num_boost_round=rounds)


def train_downscaler(
    block: FeatureBlock,
    targets: Mapping[str, np.ndarray],
    *,
    params: Mapping[str, Any] | None = None,
    rounds: int = DEFAULT_ROUNDS,
    seed: int = 0,
    meta: Mapping[str, Any] | None = None,
) -> DownscalerModel:
    """One model per layer from coarse features and reanalysis targets ``{layer: (T, n_cells)}``."""
    boosters = {}
    info = dict(meta or {})
    for layer, y in targets.items():
        booster = train_layer(block, y, params=params, rounds=rounds, seed=seed)
        fit = booster.predict(block.matrix(), num_threads=1).reshape(np.shape(y))
        ok = np.isfinite(y) & np.isfinite(fit)
        rmse = float(np.sqrt(np.mean((fit[ok] - np.asarray(y)[ok]) ** 2)))
        log.info(
            "downscaler %s: %d trees, training RMSE %.4f m3/m3", layer, booster.num_trees(), rmse
        )
        info[f"train_rmse_{layer}"] = rmse
        boosters[layer] = booster
    info["params"] = {**DEFAULT_LGBM_PARAMS, **(params or {}), "seed": seed, "rounds": rounds}
    return DownscalerModel(boosters, list(FEATURES), info)


def predict_block(
    model: DownscalerModel, layer: str, block: FeatureBlock, *, engine: str = "compiled"
) -> np.ndarray:
    """Predict ``(T, n)`` for one layer: compiled trees (default) or ``Booster.predict``."""
    if engine == "compiled":
        return predict_space_time(
            model.compiled[layer], block.static, block.dynamic, block.per_day, layout()
        )
    if engine == "lightgbm":
        out = np.empty((block.n_days, block.n_places), dtype=np.float32)
        step = max(1, 2_000_000 // max(block.n_places, 1))
        for s in range(0, block.n_days, step):
            sl = slice(s, min(block.n_days, s + step))
            x = block.matrix(sl)
            pred = model.boosters[layer].predict(x, num_threads=1)
            pred[~np.isfinite(x).all(axis=1)] = np.nan
            out[sl] = pred.reshape(-1, block.n_places)
        return out
    raise ValueError(f"unknown prediction engine {engine!r}; use 'compiled' or 'lightgbm'")


def residual_correction(pred, cell, coarse):
    """Shift the fine values of each coarse cell so their mean equals the coarse value.

    Parameters
    ----------
    pred
        ``(T, n)`` fine predictions (NaN = missing; they take no part).
    cell
        ``(n,)`` coarse cell index of each fine pixel (``-1``: outside; stays NaN).
    coarse
        ``(T, n_cells)`` coarse values; a NaN makes the cell's day NaN.

    Returns
    -------
    array
        ``(T, n)`` float64, same array kind as ``pred``: for every cell and day
        the mean of its valid fine values equals the coarse value.
    """
    xp = array_namespace(pred, coarse)
    pred = xp.asarray(pred, dtype=xp.float64)
    cell = xp.asarray(cell)
    coarse = xp.asarray(coarse, dtype=xp.float64)
    t, n = pred.shape
    n_cells = coarse.shape[1]
    inside = cell >= 0
    valid = xp.isfinite(pred) & inside[None, :]
    flat = xp.arange(t)[:, None] * n_cells + xp.where(inside, cell, 0)[None, :]
    sums = xp.bincount(flat[valid], weights=pred[valid], minlength=t * n_cells)
    counts = xp.bincount(flat[valid], minlength=t * n_cells)
    with np.errstate(invalid="ignore", divide="ignore"):
        means = (sums / counts).reshape(t, n_cells)
    shift = coarse - means
    out = pred + shift[xp.arange(t)[:, None], xp.where(inside, cell, 0)[None, :]]
    return xp.where(valid, out, xp.nan)
