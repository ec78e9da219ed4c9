"""One adaptation case from files to files: read the domains, run every method, write.

The source domain gives its labelled training samples; the target domain gives its
unlabelled pool pixels (those the source's cropland model calls cropland) and, for
scoring only, all its samples with a crop type (training and validation split: no
method sees them). The in-domain reference is a 5-fold cross-validation on those same
samples, so every figure of a case is on one evaluation set. Target labels never reach
a model's training:
:func:`domain_samples` is the only reader of labels, and the target's labelled rows go
to :func:`agrifactory.adapt.experiment.run_case` as the evaluation set alone.
"""

from __future__ import annotations

import fnmatch
import logging
import warnings
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from agrifactory.adapt.align import fill_time_gaps
from agrifactory.adapt.experiment import in_domain_cv, run_case
from agrifactory.adapt.model import AdaptedClassifier
from agrifactory.adapt.rules import AdaptCase, AdaptStageSettings, domain_parts
from agrifactory.adapt.train import fit
from agrifactory.classify.legend import LEGENDS
from agrifactory.classify.models import load_model
from agrifactory.errors import DataError
from agrifactory.io.tables import read_table, write_table

log = logging.getLogger(__name__)


def channel_columns(columns: Sequence[str], patterns: Sequence[str]) -> list[list[str]]:
    """The columns of each channel: one glob pattern each, names sorted (dates in order)."""
    channels = [sorted(c for c in columns if fnmatch.fnmatchcase(c, p)) for p in patterns]
    empty = [p for p, c in zip(patterns, channels, strict=True) if not c]
    if empty:
        raise DataError(f"adapt.features {empty} match no column of the input stack")
    if len({len(c) for c in channels}) != 1:
        raise DataError(
            f"adapt.features: the channels have different lengths {[len(c) for c in channels]}"
        )
    return channels


def series(frame: pd.DataFrame, channels: Sequence[Sequence[str]]) -> np.ndarray:
    """``float32 (n, channels, time)`` from a table's channel columns."""
    return np.stack([frame[list(c)].to_numpy(np.float32) for c in channels], axis=1)


def filled_series(source: np.ndarray, *others: np.ndarray) -> list[np.ndarray]:
    """The source's series and others with their gaps filled along time
    (:func:`agrifactory.adapt.align.fill_time_gaps`); a series without any value takes
    the source's mean of its channel."""
    with warnings.catch_warnings():  # a channel without values: NaN, refused by the fit
        warnings.simplefilter("ignore", RuntimeWarning)
        means = np.nanmean(source, axis=(0, 2))
    return [fill_time_gaps(x, means) for x in (source, *others)]


def domain_samples(table: pd.DataFrame, region: str, split: str | None) -> pd.DataFrame:
    """A region's samples that carry a crop type: of one split, or of all (None)."""
    keep = (table["region"] == region) & table["croptype"].notna()
    if split is not None:
        keep &= table["split"] == split
    rows = table[keep]
    return rows.assign(croptype=rows["croptype"].astype(int))


def target_pool(pool: pd.DataFrame, region: str, cropland_model: str | Path) -> pd.DataFrame:
    """The region's pool pixels that the (source's) cropland model calls cropland."""
    rows = pool[pool["region"] == region]
    if rows.empty:
        raise DataError(f"the target domain's region {region!r} has no unlabelled pool pixels")
    model = load_model(cropland_model)
    cropland = model.predict(rows[model.feature_names_]) == 1
    log.info(
        "target pool of %s: %d of %d pixels are cropland by %s",
        region,
        int(cropland.sum()),
        len(rows),
        cropland_model,
    )
    if not cropland.any():
        raise DataError(
            f"no pool pixel of region {region!r} is cropland by {cropland_model}: the "
            "target domain has no unlabelled crop pixels to adapt to"
        )
    return rows[cropland]


def case_series(
    case: AdaptCase,
    settings: AdaptStageSettings,
    *,
    source_table: str | Path,
    target_table: str | Path,
    pool: str | Path,
    cropland_model: str | Path,
) -> tuple[
    list[list[str]], tuple[np.ndarray, np.ndarray], np.ndarray, tuple[np.ndarray, np.ndarray]
]:
    """A case's inputs: the channels' columns, the source's training series and labels,
    the target pool's series, and the target's evaluation series and labels (gaps filled,
    :func:`filled_series`)."""
    source_region, _ = domain_parts(case.source, "adapt.cases.source")
    target_region, _ = domain_parts(case.target, "adapt.cases.target")
    rerun = "rerun rule training_set"
    source = read_table(source_table, "training set", rerun)
    target = read_table(target_table, "training set", rerun)
    train = domain_samples(source, source_region, "train")
    # Every labelled sample of the target scores the methods, none of them trains one.
    evaluation = domain_samples(target, target_region, None)
    if evaluation.empty:
        raise DataError(f"{case.target} has no samples with a crop type to score on")
    pool_table = read_table(pool, "pool of unlabelled pixels", "rerun rule adapt_pool")
    pixels = target_pool(pool_table, target_region, cropland_model)
    channels = channel_columns(list(pixels.columns), settings.features)
    xs, xt, xe = filled_series(*(series(t, channels) for t in (train, pixels, evaluation)))
    labels = (train["croptype"].to_numpy(), evaluation["croptype"].to_numpy())
    return channels, (xs, labels[0]), xt, (xe, labels[1])


def run_adapt_case(
    case: AdaptCase,
    settings: AdaptStageSettings,
    *,
    source_table: str | Path,
    target_table: str | Path,
    pool: str | Path,
    cropland_model: str | Path,
    outputs: Mapping[str, str],
    seed: int,
) -> None:
    """Every method of ``settings`` on one case; writes the scores, the in-domain
    reference and the GHCA model of the first seed (rule adapt's ``outputs``)."""
    channels, (xs, ys), xt, (xe, ye) = case_series(
        case, settings, source_table=source_table, target_table=target_table, pool=pool,
        cropland_model=cropland_model,
    )  # fmt: skip
    log.info(
        "case %s: %d source training samples, %d target pool pixels, %d target validation "
        "samples (labels for scoring only)",
        case.name,
        len(ys),
        len(xt),
        len(ye),
    )
    seeds = [seed + i for i in range(settings.seeds)]
    classes = sorted(set(ys.tolist()) | set(ye.tolist()))
    fitted: dict[str, object] = {}
    table = run_case(xs, ys, xt, xe, ye, classes=classes, methods=settings.methods, seeds=seeds,
                     settings=settings.training, fitted=fitted)  # fmt: skip
    table.insert(0, "case", case.name)
    write_table(table, outputs["scores"])
    ref = in_domain_cv(xe, ye, classes=classes, settings=settings.training, seed=seed)
    reference = {"case": case.name, "oa": ref, "n": len(ye), "method": "augment, 5-fold CV"}
    write_table(pd.DataFrame([reference]), outputs["reference"])
    model = fitted.get("ghca")
    if model is None:  # GHCA was not among the methods scored
        model = fit("ghca", xs, ys, xt, classes=classes, settings=settings.training, seed=seed)
    names = [c for channel in channels for c in channel]
    AdaptedClassifier.from_adapted(model, names, LEGENDS["croptype"], settings.training, seed).save(
        outputs["model"]
    )
