"""The stage's two LightGBM models: block correctness and per-pixel integration.

*Block correctness* (CropLayer's semantic-correctness evaluation): a block of the
factory's map is **correct** when its cropland fraction is within
``integration.correct_tolerance`` of the reference block's; the model learns that
from the block features and gives every block a probability of being correct.

*Integration*: a per-pixel model of cropland / not cropland on the factory's
probability, every product's cropland fraction at the pixel and the features of the
pixel's block, trained on the training samples and scored on the held-out
validation samples beside every single source and their majority vote.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from agrifactory.errors import DataError
from agrifactory.grid import lattice_cells
from agrifactory.integration.blocks import feature_columns, group_of
from agrifactory.integration.rules import BlockModelSettings

if TYPE_CHECKING:
    import geopandas as gpd
    import lightgbm as lgb

log = logging.getLogger(__name__)

#: Per-pixel columns of the integration model besides the block features.
PIXEL_COLUMNS = ("proba",)
#: Categorical block features (codes, not quantities).
CATEGORICAL = ("province", "region", "map_code")


def booster_params(settings: BlockModelSettings, seed: int) -> dict[str, Any]:
    """LightGBM parameters of a binary model, deterministic and single-threaded."""
    return {
        "objective": "binary",
        "learning_rate": settings.learning_rate,
        "num_leaves": settings.num_leaves,
        "min_data_in_leaf": settings.min_data_in_leaf,
        "seed": seed,
        "deterministic": True,
        "force_row_wise": True,
        "num_threads": 1,
        "verbose": -1,
    }


def train_binary(
    X: pd.DataFrame,
    y: np.ndarray,
    settings: BlockModelSettings,
    seed: int,
    increasing: Sequence[str] = (),
) -> lgb.Booster:
    """A binary LightGBM booster on ``X`` (NaN: missing; :data:`CATEGORICAL` columns as
    categories); the probability never falls as a column of ``increasing`` rises
    (LightGBM's monotone constraints)."""
    import lightgbm as lgb

    labels = np.asarray(y, dtype=int)
    if len(np.unique(labels)) < 2:
        raise DataError(
            f"the model needs both classes in its training rows; all {len(labels)} are "
            f"{labels[0] if len(labels) else 'absent'}: add reference data of the other class"
        )
    cats = [c for c in CATEGORICAL if c in X.columns]
    data = lgb.Dataset(
        model_input(X), label=labels, categorical_feature=cats or "auto", free_raw_data=True
    )
    params = booster_params(settings, seed)
    if increasing:
        params["monotone_constraints"] = [int(c in increasing) for c in X.columns]
    return lgb.train(params, data, num_boost_round=settings.num_boost_round)


def model_input(X: pd.DataFrame) -> pd.DataFrame:
    """``X`` as the models take it: floats, :data:`CATEGORICAL` columns as categories."""
    out = X.astype(float)
    for c in CATEGORICAL:
        if c in out.columns:  # LightGBM wants non-negative integer category codes
            out[c] = out[c].astype("category")
    return out


def predict(booster: lgb.Booster, X: pd.DataFrame) -> np.ndarray:
    """Probability of class 1 for every row of ``X`` (the columns the model was trained on)."""
    return booster.predict(model_input(X[booster.feature_name()]))


def binary_scores(y: np.ndarray, p: np.ndarray) -> dict[str, float]:
    """Accuracy at 0.5, ROC AUC (NaN with one class), count and share of class 1."""
    from sklearn.metrics import roc_auc_score

    y = np.asarray(y, dtype=int)
    auc = roc_auc_score(y, p) if len(np.unique(y)) == 2 else float("nan")
    return {
        "n": int(len(y)),
        "accuracy": float(np.mean((np.asarray(p) >= 0.5) == (y == 1))) if len(y) else np.nan,
        "auc": float(auc),
        "share_1": float(np.mean(y)) if len(y) else np.nan,
    }


# --- block correctness ---------------------------------------------------------------


def reference_labels(
    reference: gpd.GeoDataFrame,
    blocks: pd.DataFrame,
    origin: tuple[float, float],
    block_m: float,
    crs: Any,
) -> pd.DataFrame:
    """The reference blocks matched to the run's blocks by their centres: ``block_id``,
    ``reference_fraction`` and ``split``. A reference block whose centre lies in no
    block of the run is left out and counted in the log."""
    ref = reference.to_crs(crs)
    centre = ref.geometry.centroid
    bx, by = lattice_cells(centre.x.to_numpy(), centre.y.to_numpy(), origin, block_m)
    key = pd.DataFrame(
        {
            "bx": bx,
            "by": by,
            "reference_fraction": ref["cropland_fraction"].astype(float).to_numpy(),
            "split": ref["split"].astype(str).to_numpy(),
        }
    )
    matched = blocks[["block_id", "bx", "by"]].merge(key, on=["bx", "by"], how="inner")
    if len(matched) < len(key):
        log.warning(
            "%d of %d reference blocks lie outside the run's blocks and are not used",
            len(key) - len(matched),
            len(key),
        )
    return matched[["block_id", "reference_fraction", "split"]]


def map_rows(blocks: pd.DataFrame, map_blocks: pd.DataFrame) -> pd.DataFrame:
    """One row per block and map: the block's features, the map (as a code, ``map_code``),
    its cropland fraction in the block and its difference to every other map's there
    (``diff_<other>``), and to their mean (``diff_others``).

    ``map_blocks``: ``block_id``, ``map``, ``fraction`` (rule integrate's table)."""
    wide = map_blocks.pivot(index="block_id", columns="map", values="fraction")
    names = list(dict.fromkeys(map_blocks["map"]))
    rows = []
    for code, name in enumerate(names):
        part = pd.DataFrame({"block_id": wide.index, "map": name, "map_code": float(code)})
        part["map_fraction"] = wide[name].to_numpy()
        others = [m for m in names if m != name]
        for other in others:
            part[f"diff_{other}"] = part["map_fraction"] - wide[other].to_numpy()
        part["diff_others"] = part["map_fraction"] - wide[others].mean(axis=1).to_numpy()
        rows.append(part)
    long = pd.concat(rows, ignore_index=True)
    return long.merge(blocks, on="block_id", how="left", validate="many_to_one")


#: Columns of :func:`map_rows` that are not features.
ROW_IDS = ("block_id", "map", "tile", "row", "col", "bx", "by")


def correctness_features(rows: pd.DataFrame) -> list[str]:
    """The feature columns of the block-correctness model."""
    skip = {*ROW_IDS, "reference_fraction", "split", "correct"}
    return [c for c in rows.columns if c not in skip]


def label_rows(rows: pd.DataFrame, labels: pd.DataFrame, tolerance: float) -> pd.DataFrame:
    """The rows of the reference blocks with ``correct``: 1 when the map's cropland
    fraction is within ``tolerance`` of the reference's, 0 when not (a map with no data
    in the block is not labelled)."""
    out = rows.merge(labels, on="block_id", how="inner")
    out = out[out["map_fraction"].notna()].copy()
    out["correct"] = ((out["map_fraction"] - out["reference_fraction"]).abs() <= tolerance).astype(
        int
    )
    return out


def fit_correctness(
    labelled: pd.DataFrame, rows: pd.DataFrame, settings: BlockModelSettings, seed: int
) -> tuple[lgb.Booster, pd.DataFrame, np.ndarray]:
    """Train on the rows of the ``train`` reference blocks, score those of the
    ``validation`` ones: over every map, per map, and against always answering the
    training rows' commoner label. Returns the booster, the metrics and every row's
    probability of being correct."""
    names = correctness_features(rows)
    train = labelled[labelled["split"] == "train"]
    test = labelled[labelled["split"] != "train"]
    booster = train_binary(train[names], train["correct"].to_numpy(), settings, seed)
    p_test = predict(booster, test)
    majority = float(train["correct"].mean() >= 0.5)
    metrics = [
        {
            "split": "train",
            "map": "all",
            **binary_scores(train["correct"], predict(booster, train)),
        },
        {"split": "validation", "map": "all", **binary_scores(test["correct"], p_test)},
        {
            "split": "validation, majority answer",
            "map": "all",
            **binary_scores(test["correct"], np.full(len(test), majority)),
        },
    ]
    for name, part in test.groupby("map", sort=False):
        scores = binary_scores(part["correct"], p_test[(test["map"] == name).to_numpy()])
        metrics.append({"split": "validation", "map": name, **scores})
    return booster, pd.DataFrame(metrics), predict(booster, rows)


# --- integration -------------------------------------------------------------------


def increasing_columns(columns: Sequence[str]) -> list[str]:
    """The integration model's columns whose rise may only raise the cropland probability:
    the factory's probability and every product's cropland fraction at the pixel. Without
    the constraint the model, fitted on the samples (field interiors), did worse than the
    factory's map on the mixed pixels of field edges (docs/integration.md)."""
    return [c for c in columns if c in PIXEL_COLUMNS or c.startswith("value_")]


def pixel_frame(
    samples: pd.DataFrame, blocks: pd.DataFrame, sources: Sequence[str]
) -> pd.DataFrame:
    """The integration model's features of sample rows: the pixel's factory probability and
    product values (``value_<name>``), then its block's features."""
    block_features = blocks[["block_id", *feature_columns(blocks.columns)]]
    merged = samples.merge(block_features, on="block_id", how="left", validate="many_to_one")
    return merged[[*PIXEL_COLUMNS, *(f"value_{s}" for s in sources), *block_features.columns[1:]]]


def with_out_of_fold(train: pd.DataFrame, oof: pd.DataFrame) -> pd.DataFrame:
    """Training rows with the factory's probability replaced by its out-of-fold value
    (``oof``: ``sample_id``, ``p_cropland``; :mod:`agrifactory.classify.oof`): the map's
    own value at a training sample comes from a model that learnt that very sample."""
    lookup = oof.set_index(oof["sample_id"].astype(str))["p_cropland"]
    values = train["sample_id"].astype(str).map(lookup)
    missing = int(values.isna().sum())
    if missing:
        log.warning(
            "%d of %d training samples have no out-of-fold probability (left out of the "
            "cropland model: a rare class?); their probability is missing",
            missing,
            len(train),
        )
    log.info(
        "integration model: %d training samples with out-of-fold probabilities",
        len(train) - missing,
    )
    return train.assign(proba=values.to_numpy(dtype=float))


def vote(fraction: np.ndarray) -> np.ndarray:
    """A product's answer from its cropland fraction: 1 at 0.5 and above, 0 below, NaN
    where it has no data."""
    f = np.asarray(fraction, dtype=float)
    return np.where(np.isnan(f), np.nan, (f >= 0.5).astype(float))


def source_votes(table: pd.DataFrame, sources: Sequence[str]) -> dict[str, np.ndarray]:
    """Each single source's answer (1 cropland, 0 not, NaN no data): the factory's class
    and every product's fraction at 0.5."""
    votes = {"factory": np.where(table["factory"].isin([0, 1]), table["factory"], np.nan)}
    for s in sources:
        v = table[f"value_{s}"].to_numpy(dtype=float)
        votes[s] = vote(v)
    return votes


def majority_vote(votes: Mapping[str, np.ndarray], tie: np.ndarray) -> np.ndarray:
    """Per row, cropland where more sources with data say cropland than not; a tie takes
    ``tie`` (the factory's answer). NaN where no source has data."""
    stack = np.vstack([np.asarray(v, dtype=float) for v in votes.values()])
    yes = np.sum(stack == 1, axis=0)
    no = np.sum(stack == 0, axis=0)
    out = np.where(yes > no, 1.0, np.where(no > yes, 0.0, np.asarray(tie, dtype=float)))
    return np.where(yes + no == 0, np.nan, out)


def source_accuracy(table: pd.DataFrame, answers: Mapping[str, np.ndarray]) -> pd.DataFrame:
    """Overall accuracy of each map's answers on the rows of ``table`` (``label``): a row
    without an answer counts as wrong; coverage says how many had one."""
    y = table["label"].to_numpy(dtype=float)
    rows = []
    for name, a in answers.items():
        a = np.asarray(a, dtype=float)
        has = ~np.isnan(a)
        rows.append(
            {
                "source": name,
                "n": int(len(y)),
                "covered": int(has.sum()),
                "correct": int(np.sum(has & (a == y))),
                "overall_accuracy": float(np.mean(has & (a == y))) if len(y) else np.nan,
            }
        )
    return pd.DataFrame(rows)


def importance_table(booster: lgb.Booster) -> pd.DataFrame:
    """Gain importance of every feature and its group, largest first."""
    names = booster.feature_name()
    gain = booster.feature_importance(importance_type="gain")
    table = pd.DataFrame({"feature": names, "group": [group_of(n) for n in names], "gain": gain})
    table["share"] = table["gain"] / max(table["gain"].sum(), 1e-12)
    return table.sort_values("gain", ascending=False, kind="stable").reset_index(drop=True)
