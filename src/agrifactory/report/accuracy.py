"""The accuracy page of one class product: one row per class.

Read from the accuracy rule's tables (``accuracy/<year>/<product>/report.csv`` and
``areas.csv``): at the held-out validation samples, the sample counts and the user's
and producer's accuracy with Wilson 95 % intervals and F1; from the stratified sample,
the user's and producer's accuracy of Olofsson et al. (2014) with their 95 %
intervals; the mapped (pixel-count) area and the adjusted area with its 95 %
interval in ha, and ``pixel_count_in_ci95``: whether the mapped area lies inside the
adjusted area's interval. Accuracy intervals are clipped to [0, 1], area intervals
at 0.

:func:`model_comparison` sets the crop-type models side by side (OA, kappa,
macro-F1, F1 per class) on the validation samples of the ``train_croptype`` rule's
``validation.csv``.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd

from agrifactory.report.headline import wilson_interval
from agrifactory.report.tables import write_html_table

#: Accuracies with an interval: column prefix -> (sample, metric) in report.csv.
ACCURACIES = {
    "users_accuracy": ("validation", "users_accuracy"),
    "producers_accuracy": ("validation", "producers_accuracy"),
    "users_accuracy_stratified": ("stratified", "users_accuracy_stratified"),
    "producers_accuracy_stratified": ("stratified", "producers_accuracy_stratified"),
}


def _clip01(value: float) -> float:
    return min(1.0, max(0.0, value)) if np.isfinite(value) else math.nan


def _metric(report: pd.DataFrame, sample: str, metric: str, code: int) -> pd.Series | None:
    rows = report[
        (report["sample"] == sample) & (report["metric"] == metric) & (report["class_code"] == code)
    ]
    return rows.iloc[0] if len(rows) else None


def _interval(row: pd.Series, sample: str) -> tuple[float, float]:
    """The 95 % interval of an accuracy row: the table's (stratified) or Wilson's from n."""
    if sample == "stratified":
        return _clip01(float(row["ci95_low"])), _clip01(float(row["ci95_high"]))
    n = int(row["n"]) if pd.notna(row["n"]) else 0
    return wilson_interval(float(row["value"]), n)


def _accuracy_columns(report: pd.DataFrame, code: int) -> dict:
    out: dict = {}
    for name, (sample, metric) in ACCURACIES.items():
        row = _metric(report, sample, metric, code)
        value = float(row["value"]) if row is not None else math.nan
        lo, hi = (
            _interval(row, sample) if row is not None and np.isfinite(value) else (math.nan,) * 2
        )
        out |= {name: value, f"{name}_ci95_low": lo, f"{name}_ci95_high": hi}
    f1 = _metric(report, "validation", "f1", code)
    out["f1"] = float(f1["value"]) if f1 is not None else math.nan
    return out


def _count(report: pd.DataFrame, metric: str, code: int) -> int:
    row = _metric(report, "validation", metric, code)
    return int(row["value"]) if row is not None and pd.notna(row["value"]) else 0


def class_table(report: pd.DataFrame, areas: pd.DataFrame) -> pd.DataFrame:
    """One row per class of the product: counts, accuracies with intervals, areas (ha)."""
    classes = (
        report.loc[report["class_code"] >= 0, ["class_code", "class_name"]]
        .drop_duplicates("class_code")
        .sort_values("class_code")
    )
    est = areas[areas["region"] == "all"].set_index("class")
    rows = []
    for code, name in zip(classes["class_code"], classes["class_name"], strict=True):
        row = {
            "class_code": int(code),
            "class": name,
            "n_reference": _count(report, "n_reference", code),
            "n_mapped": _count(report, "n_mapped", code),
        }
        row |= _accuracy_columns(report, code)
        a = est.loc[name] if name in est.index else None
        mapped = float(a["mapped_ha"]) if a is not None else math.nan
        low = max(0.0, float(a["ci95_low_ha"])) if a is not None else math.nan
        high = float(a["ci95_high_ha"]) if a is not None else math.nan
        row |= {
            "mapped_ha": mapped,
            "adjusted_ha": float(a["area_ha"]) if a is not None else math.nan,
            "adjusted_ci95_low_ha": low,
            "adjusted_ci95_high_ha": high,
            "pixel_count_in_ci95": pd.NA if a is None else bool(low <= mapped <= high),
        }
        rows.append(row)
    table = pd.DataFrame(rows)
    table["pixel_count_in_ci95"] = table["pixel_count_in_ci95"].astype("boolean")
    return table


def _with_interval(value: float, low: float, high: float) -> str:
    if not np.isfinite(value):
        return "—"
    if not (np.isfinite(low) and np.isfinite(high)):
        return f"{value:.3f}"
    return f"{value:.3f} ({low:.3f}–{high:.3f})"


def display_table(table: pd.DataFrame) -> pd.DataFrame:
    """The class table as the page shows it: each accuracy with its interval in one cell."""
    out = pd.DataFrame({"class": table["class"], "code": table["class_code"]})
    out["reference samples"] = table["n_reference"]
    out["mapped samples"] = table["n_mapped"]
    labels = {
        "users_accuracy": "UA (validation)",
        "producers_accuracy": "PA (validation)",
        "users_accuracy_stratified": "UA (stratified)",
        "producers_accuracy_stratified": "PA (stratified)",
    }
    for name, label in labels.items():
        out[label] = [
            _with_interval(v, lo, hi)
            for v, lo, hi in zip(
                table[name], table[f"{name}_ci95_low"], table[f"{name}_ci95_high"], strict=True
            )
        ]
        if name == "producers_accuracy":
            out["F1 (validation)"] = [f"{v:.3f}" if np.isfinite(v) else "—" for v in table["f1"]]
    out["mapped area (ha)"] = [f"{v:,.1f}" if np.isfinite(v) else "—" for v in table["mapped_ha"]]
    out["adjusted area (ha, 95 % CI)"] = [
        f"{a:,.1f} ({lo:,.1f}–{hi:,.1f})" if np.isfinite(a) else "—"
        for a, lo, hi in zip(
            table["adjusted_ha"],
            table["adjusted_ci95_low_ha"],
            table["adjusted_ci95_high_ha"],
            strict=True,
        )
    ]
    out["pixel_count_in_ci95"] = table["pixel_count_in_ci95"]
    return out


def overall_line(report: pd.DataFrame) -> str:
    """Overall figures of the product in one sentence."""
    parts = []
    for metric, label in (("overall_accuracy", "OA"), ("kappa", "kappa"), ("macro_f1", "macro-F1")):
        row = _metric(report, "validation", metric, -1)
        if row is not None:
            parts.append(f"{label} {float(row['value']):.3f}")
    n = _metric(report, "validation", "overall_accuracy", -1)
    text = f"Validation samples (n = {int(n['n'])}): " + ", ".join(parts) if n is not None else ""
    strat = _metric(report, "stratified", "overall_accuracy_stratified", -1)
    if strat is not None:
        lo, hi = _interval(strat, "stratified")
        text += (
            f". Stratified sample (n = {int(strat['n'])}): OA {float(strat['value']):.3f} "
            f"({lo:.3f}–{hi:.3f})."
        )
    return text


def write_accuracy_page(
    report_csv: str | Path, areas_csv: str | Path, out: str | Path, *, title: str
) -> Path:
    """The accuracy page of one product: overall figures and the per-class table."""
    report = pd.read_csv(report_csv)
    table = class_table(report, pd.read_csv(areas_csv))
    return write_html_table(
        display_table(table),
        out,
        title=title,
        caption=overall_line(report)
        + " UA, PA: user's and producer's accuracy with 95 % intervals (validation: Wilson;"
        " stratified: Olofsson et al. 2014), clipped to [0, 1]. pixel_count_in_ci95: the"
        " mapped area lies inside the adjusted area's 95 % interval.",
        flag_column="pixel_count_in_ci95",
    )


def read_confusion(path: str | Path) -> pd.DataFrame:
    """A confusion-matrix CSV (rows ``map_<class>``, columns ``ref_<class>``) with bare
    class names as index and columns."""
    cm = pd.read_csv(path, index_col=0)
    cm.index = [str(i).removeprefix("map_") for i in cm.index]
    cm.columns = [str(c).removeprefix("ref_") for c in cm.columns]
    return cm


def confusion_heatmaps(
    matrices: dict[str, pd.DataFrame], out: str | Path, *, title: str, dpi: int = 100
) -> Path:
    """Confusion matrices side by side (counts in each cell, shaded by row share).

    Rows are the map's classes, columns the reference; a cell's shade is its share of
    the row (the user's view), so the diagonal reads as UA.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from agrifactory.io.files import atomic_path

    n = max(len(cm) for cm in matrices.values())
    size = 1.2 + 0.45 * n
    fig, axes = plt.subplots(
        1, len(matrices), figsize=(size * len(matrices) + 0.5, size + 0.6), layout="constrained"
    )
    for ax, (label, cm) in zip(np.atleast_1d(axes), matrices.items(), strict=True):
        counts = cm.to_numpy(float)
        rows = counts.sum(axis=1, keepdims=True)
        share = np.divide(counts, rows, out=np.zeros_like(counts), where=rows > 0)
        ax.imshow(share, cmap="Blues", vmin=0, vmax=1)
        for (i, j), v in np.ndenumerate(counts):
            colour = "white" if share[i, j] > 0.6 else "black"
            ax.text(j, i, f"{int(v)}", ha="center", va="center", fontsize=8, color=colour)
        ax.set_xticks(range(cm.shape[1]), cm.columns, rotation=45, ha="right", fontsize=8)
        ax.set_yticks(range(cm.shape[0]), cm.index, fontsize=8)
        ax.set_xlabel("reference")
        ax.set_ylabel("map")
        ax.set_title(f"{label} (n = {int(counts.sum())})", fontsize=10)
    fig.suptitle(title)
    with atomic_path(out) as tmp:
        fig.savefig(tmp, dpi=dpi, format="png")
    plt.close(fig)
    return Path(out)


def model_comparison(reports: dict[str, pd.DataFrame], mapped: str) -> pd.DataFrame:
    """The crop-type models side by side on each region's held-out validation samples.

    ``reports``: region -> the ``train_croptype`` rule's ``validation.csv`` (rows of
    every model, column ``model``); ``mapped``: the name of the product's model. One
    row per region and model: ``region, model, mapped, n`` (validation samples),
    ``overall_accuracy, kappa, macro_f1`` and ``f1_<class>`` for every class with
    validation samples in some region (NaN where a region has none of the class).
    """
    rows, classes = [], {}
    for region, report in reports.items():
        counts = report[report["metric"] == "n_reference"]
        present = counts.loc[counts["value"] > 0, ["class_code", "class_name"]]
        classes |= dict(zip(present["class_code"], present["class_name"], strict=True))
        for model, part in report.groupby("model", sort=False):
            metric = part.set_index(["metric", "class_code"])["value"]
            row = {"region": region, "model": model, "mapped": model == mapped}
            row["n"] = int(part.loc[part["metric"] == "overall_accuracy", "n"].iloc[0])
            row |= {m: float(metric[(m, -1)]) for m in ("overall_accuracy", "kappa", "macro_f1")}
            rows.append((row, part))
    out = []
    for row, part in rows:
        f1 = part[part["metric"] == "f1"].set_index("class_code")["value"]
        counts = part[part["metric"] == "n_reference"].set_index("class_code")["value"]
        for code, name in sorted(classes.items()):
            row[f"f1_{name}"] = float(f1[code]) if counts.get(code, 0) > 0 else math.nan
        out.append(row)
    return pd.DataFrame(out)


def write_model_comparison(table: pd.DataFrame, out: str | Path, *, title: str) -> Path:
    """The model comparison page: one row per region and model, figures to 3 decimals."""
    shown = table.rename(
        columns={"overall_accuracy": "OA", "kappa": "kappa", "macro_f1": "macro-F1"}
        | {c: f"F1 {c.removeprefix('f1_')}" for c in table.columns if c.startswith("f1_")}
    )
    shown["mapped"] = np.where(table["mapped"], "yes", "")
    for col in shown.columns[4:]:
        shown[col] = [f"{v:.3f}" if np.isfinite(v) else "—" for v in shown[col]]
    return write_html_table(
        shown,
        out,
        title=title,
        caption="Every model trained on the same training samples and scored on the same"
        " held-out validation samples of its region; the model with mapped = yes made the"
        " map. OA: overall accuracy; F1 per class (— : no validation sample of the class"
        " in the region).",
    )
