"""Accuracy of a mapped product: held-out samples and the stratified estimators.

Two samples assess each product (rule ``accuracy``):

* **validation**: the held-out validation samples that carry the product's label;
  the map's code at each point against the label. For irrigation and crop type the
  samples are cropland samples, and a point the cropland map missed (code 0, not
  cropland) counts as an error.
* **stratified**: a stratified random sample of the map (strata: map classes,
  :mod:`~agrifactory.classify.design`) labelled by a person or, in the demo, by the
  truth; Olofsson et al. (2014) estimates of accuracy and of class areas with 95%
  confidence intervals.

Outputs: a tidy report (``sample, product, class_code, class_name, metric, value,
se, ci95_low, ci95_high, n``), the two confusion matrices (rows map, columns
reference) and the area table that the aggregation stage reads (columns of
``agrifactory.aggregate.accuracy``: ``product, class, region, area_ha, se_ha,
ci95_low_ha, ci95_high_ha, mapped_ha, n_reference, reference``).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from pathlib import Path

import numpy as np
import pandas as pd

from agrifactory.classify.accuracy import accuracy_table, confusion_matrix
from agrifactory.classify.design import values_at_points
from agrifactory.classify.legend import NODATA, raster_legend
from agrifactory.errors import DataError

log = logging.getLogger(__name__)

AREA_COLUMNS = [
    "product",
    "class",
    "region",
    "area_ha",
    "se_ha",
    "ci95_low_ha",
    "ci95_high_ha",
    "mapped_ha",
    "n_reference",
    "reference",
]


def map_at_samples(class_paths: Mapping[str, str | Path], table: pd.DataFrame) -> np.ndarray:
    """The map's code at each row's ``(x, y)``, read from the row's tile."""
    out = np.full(len(table), NODATA, dtype=np.int64)
    for tile, idx in table.groupby("tile_id").indices.items():
        if tile not in class_paths:
            raise DataError(f"samples lie in tile {tile}, which has no class raster in this run")
        rows = table.iloc[idx]
        out[idx] = values_at_points(class_paths[tile], rows["x"].to_numpy(), rows["y"].to_numpy())
    return out


def validation_sample(
    table: pd.DataFrame, product: str, class_paths: Mapping[str, str | Path]
) -> tuple[np.ndarray, np.ndarray]:
    """Reference and mapped codes of the held-out samples that carry ``product``'s label."""
    if "split" not in table.columns:
        raise DataError(
            "the training table has no split column: the held-out validation samples are "
            "unknown (set classify.samples.split_column)"
        )
    rows = table[(table["split"] == "validation") & table[product].notna()].reset_index(drop=True)
    if rows.empty:
        raise DataError(f"no held-out validation samples carry a {product} label")
    mapped = map_at_samples(class_paths, rows)
    if (mapped == NODATA).any():
        bad = rows.loc[mapped == NODATA, "sample_id"].tolist()[:10]
        raise DataError(
            f"{product}: the map is nodata at validation samples {bad}; they had features "
            "when the training set was built, so the map and the training set disagree: rerun"
        )
    return rows[product].astype(int).to_numpy(), mapped


def confusion_frame(
    reference: np.ndarray, mapped: np.ndarray, legend: Mapping[str, int]
) -> pd.DataFrame:
    """Confusion matrix as a labelled table: rows ``map_<class>``, columns ``ref_<class>``."""
    cm = confusion_matrix(reference, mapped, list(legend.values()))
    return pd.DataFrame(
        cm,
        index=pd.Index([f"map_{n}" for n in legend], name="map\\reference"),
        columns=[f"ref_{n}" for n in legend],
    )


def reference_classes_macro_f1(report: pd.DataFrame) -> pd.DataFrame:
    """Macro-F1 over the classes that occur in the reference sample.

    The held-out samples of irrigation and crop type are cropland samples: "not
    cropland" is never their reference class, only a possible (wrong) map value,
    whose F1 of 0 would otherwise pull the mean down. Its errors still count in the
    other classes' producer's accuracy and in the OA.
    """
    out = report.copy()
    n_ref = out[out["metric"] == "n_reference"].set_index("class_code")["value"]
    f1 = out[(out["metric"] == "f1") & out["class_code"].map(n_ref).gt(0)]["value"]
    out.loc[out["metric"] == "macro_f1", "value"] = float(f1.mean())
    return out


def area_table(
    report: pd.DataFrame, product: str, mapped: pd.DataFrame, n_reference: int, reference: str
) -> pd.DataFrame:
    """The aggregation stage's area table from the stratified report rows (hectares)."""
    areas = report[report["metric"] == "area"].set_index("class_name")
    mapped_ha = mapped.set_index("class_name")["mapped_ha"]
    return pd.DataFrame(
        {
            "product": product,
            "class": areas.index,
            "region": "all",
            "area_ha": areas["value"].to_numpy(),
            "se_ha": areas["se"].to_numpy(),
            "ci95_low_ha": areas["ci95_low"].to_numpy(),
            "ci95_high_ha": areas["ci95_high"].to_numpy(),
            "mapped_ha": mapped_ha.reindex(areas.index).to_numpy(),
            "n_reference": n_reference,
            "reference": reference,
        },
        columns=AREA_COLUMNS,
    )


def assess(
    product: str,
    class_paths: Mapping[str, str | Path],
    table: pd.DataFrame,
    design: pd.DataFrame,
    mapped: pd.DataFrame,
    *,
    reference_name: str = "stratified random sample",
) -> dict[str, pd.DataFrame]:
    """Assess one product on the held-out samples of the training ``table`` and on the
    labelled stratified ``design`` (:func:`~agrifactory.classify.design.read_labelled_design`).

    Returns
    -------
    dict
        ``report``, ``confusion_validation``, ``confusion_stratified`` (the matrix with
        its row labels as the first column) and ``areas``.
    """
    legend = raster_legend(product)
    ref_v, map_v = validation_sample(table, product, class_paths)
    rep_v = reference_classes_macro_f1(accuracy_table(ref_v, map_v, legend, product=product))
    area_ha = dict(zip(mapped["class_code"], mapped["mapped_ha"], strict=True))
    rep_s = accuracy_table(
        design["reference"], design["stratum"], legend, product=product, mapped_area=area_ha
    )
    report = pd.concat(
        [rep_v.assign(sample="validation"), rep_s.assign(sample="stratified")], ignore_index=True
    )
    report = report[["sample", *rep_v.columns]]
    overall = report[report["class_code"] == -1].set_index(["sample", "metric"])["value"]
    log.info("%s accuracy:\n%s", product, overall.to_string())
    return {
        "report": report,
        "confusion_validation": confusion_frame(ref_v, map_v, legend).reset_index(),
        "confusion_stratified": confusion_frame(
            design["reference"], design["stratum"], legend
        ).reset_index(),
        "areas": area_table(rep_s, product, mapped, len(design), reference_name),
    }
