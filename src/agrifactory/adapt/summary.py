"""Every adaptation case side by side: mean and s.d. over seeds, the in-domain
reference, the checks of docs/adaptation.md and the ablation, as tables and a page."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import pandas as pd

from agrifactory.adapt.rules import ABLATIONS, BASELINES
from agrifactory.io.tables import read_table, write_table
from agrifactory.report.tables import write_html_table

#: GHCA's target OA must be within this of the in-domain model's (docs/adaptation.md).
IN_DOMAIN_GAP = 0.05


def case_summary(scores: pd.DataFrame) -> pd.DataFrame:
    """One row per case and method: mean and s.d. of OA, macro F1 and kappa over seeds."""
    g = scores.groupby(["case", "method"], sort=False)
    out = g[["oa", "macro_f1", "kappa"]].agg(["mean", "std"])
    out.columns = [f"{m}_{s}" for m, s in out.columns]
    return out.assign(seeds=g.size()).reset_index()


def checks(summary: pd.DataFrame, reference: pd.DataFrame) -> pd.DataFrame:
    """Per case: GHCA's mean OA against the in-domain reference and every baseline's,
    and what each ablation costs (GHCA's mean OA minus the ablation's)."""
    rows = []
    for case, part in summary.groupby("case", sort=False):
        oa = part.set_index("method")["oa_mean"]
        ref = float(reference.set_index("case").loc[case, "oa"])
        baselines = oa.reindex([b for b in BASELINES if b in oa.index])
        row = {
            "case": case,
            "in_domain_oa": ref,
            "ghca_oa": oa.get("ghca"),
            "gap_to_in_domain": ref - oa.get("ghca", float("nan")),
            "best_baseline": baselines.idxmax() if len(baselines) else None,
            "best_baseline_oa": baselines.max() if len(baselines) else None,
        }
        row["within_5_points"] = bool(row["gap_to_in_domain"] <= IN_DOMAIN_GAP)
        row["ahead_of_every_baseline"] = bool(oa.get("ghca", -1) > baselines.max())
        for ablation in ABLATIONS:
            if ablation in oa.index:
                row[f"gain_over_{ablation}"] = oa.get("ghca") - oa[ablation]
        rows.append(row)
    return pd.DataFrame(rows)


def mean_sd_table(summary: pd.DataFrame) -> pd.DataFrame:
    """OA as 'mean ± sd' with one column per case and one row per method."""
    text = summary.assign(
        oa=[
            f"{m:.3f} ± {s:.3f}" for m, s in zip(summary["oa_mean"], summary["oa_std"], strict=True)
        ]
    )
    return (
        text.pivot(index="method", columns="case", values="oa")
        .reindex(list(dict.fromkeys(summary["method"])))
        .reset_index()
    )


def write_summary(cases: Mapping[str, tuple[str, str]], outputs: Mapping[str, str]) -> None:
    """Rule adapt_summary's tables and page from every case's scores and reference."""
    rerun = "rerun rule adapt for the case"
    scores = pd.concat(
        [read_table(s, "case's scores", rerun) for s, _ in cases.values()], ignore_index=True
    )
    reference = pd.concat(
        [read_table(r, "in-domain reference", rerun) for _, r in cases.values()],
        ignore_index=True,
    )
    summary = case_summary(scores)
    verdict = checks(summary, reference)
    write_table(summary, outputs["table"])
    write_table(verdict, outputs["checks"])
    n_ahead = int(verdict["ahead_of_every_baseline"].sum())
    n_within = int(verdict["within_5_points"].sum())
    write_html_table(
        mean_sd_table(summary),
        Path(outputs["page"]),
        title="Crop type without target labels: target OA per case (mean ± sd over seeds)",
        caption=(
            f"Every method trained on the source domain's labelled training samples and the "
            f"target domain's unlabelled crop pixels, scored on the target's validation "
            f"samples (never used in training). GHCA is within {IN_DOMAIN_GAP * 100:.0f} "
            f"points of the in-domain reference in {n_within} of {len(verdict)} cases and "
            f"ahead of every baseline in {n_ahead} of {len(verdict)}."
        ),
        sections=[
            ("Checks and ablation (OA; gain = GHCA minus the ablation)", verdict.round(4)),
            ("In-domain reference", reference.round(4)),
        ],
    )
