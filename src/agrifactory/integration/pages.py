"""The stage's report pages: every map's accuracy, and the block correctness model."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from agrifactory.integration.rules import IntegrationSettings
from agrifactory.report.tables import write_html_table


def accuracy_page(
    accuracy: pd.DataFrame, importance: pd.DataFrame, n_train: int, path: str | Path
) -> Path:
    """Overall accuracy of every map on the held-out validation samples, best first, and
    the integration model's gain importance by feature group."""
    table = accuracy.sort_values("overall_accuracy", ascending=False, kind="stable")
    groups = importance.groupby("group", sort=False)["share"].sum().round(4).reset_index()
    return write_html_table(
        table,
        path,
        title="Cropland maps on the held-out validation samples",
        caption=(
            "factory: the factory's own map; then every other product (cropland where its "
            "fraction of the 30 m pixel is at least 0.5); majority: the majority vote of "
            "those maps (a tie takes the factory's answer); integrated: the per-pixel "
            f"LightGBM model trained on {n_train} training samples. A sample a map has "
            "no data at counts as wrong (covered: how many it had data at)."
        ),
        sections=[
            ("What the integration model relies on (share of gain by group)", groups),
            ("By feature", importance.round(4)),
        ],
    )


def correctness_page(
    metrics: pd.DataFrame, blocks: pd.DataFrame, settings: IntegrationSettings, path: str | Path
) -> Path:
    """The block-correctness model's scores and the reference blocks it learnt from."""
    labelled = blocks[blocks["split"].notna()]
    order = list(dict.fromkeys(labelled["map"]))
    counts = (
        labelled.assign(correct=labelled["correct"].astype(int))
        .groupby(["map", "split", "correct"])
        .size()
        .unstack(["split", "correct"], fill_value=0)
        .reindex(order)
        .sort_index(axis=1)
    )
    counts.columns = [f"{split}_{'correct' if c else 'wrong'}" for split, c in counts.columns]
    counts = counts.reset_index()
    return write_html_table(
        metrics.round(4),
        path,
        title="Block-level semantic correctness of every cropland map",
        caption=(
            f"Blocks of {settings.block_m} m of every map (the factory's, each product, "
            "the majority vote, the integrated map). A block of a map is correct when the "
            f"map's cropland fraction there is within {settings.correct_tolerance} of the "
            "reference block's. LightGBM on the map's fraction, its differences to the "
            "other maps and the IQA, geography, regional and consistency features, trained "
            "on the train reference blocks, scored on the validation ones (accuracy at "
            "p = 0.5, ROC AUC; AUC is empty where a map's validation blocks are all of one "
            "label); 'majority answer' always answers the training rows' commoner label. "
            "correctness.tif holds every block's probability, one band per map."
        ),
        sections=[("Reference blocks per map, right and wrong", counts)],
    )
