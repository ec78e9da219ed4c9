"""The report's summary page: the run's headline figures, each beside its goal.

Every figure is read from a product table of the run, never copied by hand:

* accuracy per class product (``accuracy/<year>/<product>/report.csv``): overall
  accuracy at the validation samples, with a Wilson 95 % interval from its sample
  count, and the stratified estimate (Olofsson et al. 2014) with its interval, both
  clipped to [0, 1]; Cohen's kappa where a goal is set;
* units within the tolerance of the official statistics
  (``aggregate/<year>/<level>_summary.csv``), as a share of the compared units;
* PCC and RMSE of the calibrated soil moisture at held-out stations, per layer
  (``soil_moisture/<year>/evaluation.csv``);
* fusion coverage (mean share of pixels predicted per 8-day date) and HANTS coverage
  (share of pixels with a fit) from the run-level QA tables (``report/qa/*.csv``);
* the crop-type transfer experiment (``transfer/<year>/*.csv``): overall accuracy in
  the target region, with and without augmentation.

A figure with a goal in ``report.targets`` is marked ``met`` or ``missed``.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from agrifactory.report.rules import HeadlineTargets
from agrifactory.report.tables import write_html_table

#: z of a two-sided 95 % interval.
Z95 = 1.959963984540054
#: Columns of the headline table, in order.
COLUMNS = [
    "year",
    "section",
    "figure",
    "value",
    "ci95_low",
    "ci95_high",
    "unit",
    "goal",
    "target",
    "status",
    "detail",
    "source",
]
#: Plurals of the administrative levels.
PLURALS = {"province": "provinces", "county": "counties"}
#: Banner of a demo run.
DEMO_BANNER = "demo: synthetic inputs"


@dataclass(frozen=True)
class YearProducts:
    """The product tables of one year that the headline figures come from."""

    accuracy: Mapping[str, str | Path] = field(default_factory=dict)
    """Product -> accuracy ``report.csv``."""
    statistics: Mapping[str, str | Path] = field(default_factory=dict)
    """Level -> comparison ``<level>_summary.csv``."""
    soil_moisture: str | Path | None = None
    """Soil-moisture ``evaluation.csv``."""
    transfer: Sequence[str | Path] = ()
    """Transfer tables (``croptype_<source>_to_<target>.csv``)."""


@dataclass(frozen=True)
class RunFacts:
    """What the banner says about the run."""

    demo: bool
    years: Sequence[int]
    n_tiles: int
    tile_km: int
    extent: tuple[float, float, float, float]
    """West, south, east, north of the tiles in degrees (WGS84)."""


def wilson_interval(p: float, n: int, z: float = Z95) -> tuple[float, float]:
    """Wilson score interval of a proportion ``p`` of ``n`` trials (inside [0, 1])."""
    if n <= 0 or not np.isfinite(p):
        return math.nan, math.nan
    d = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / d
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / d
    return max(0.0, centre - half), min(1.0, centre + half)


def _status(value: float, target: float | None, goal: str) -> str:
    if target is None or not np.isfinite(value):
        return ""
    met = value >= target if goal == ">=" else value <= target
    return "met" if met else "missed"


def _row(
    year: int | str,
    section: str,
    figure: str,
    value: float,
    *,
    unit: str,
    ci: tuple[float, float] = (math.nan, math.nan),
    target: float | None = None,
    goal: str = ">=",
    detail: str = "",
    source: str | Path = "",
) -> dict:
    """One headline row; ``goal`` is ``>=`` (higher is better) or ``<=``."""
    return {
        "year": year,
        "section": section,
        "figure": figure,
        "value": float(value),
        "ci95_low": float(ci[0]),
        "ci95_high": float(ci[1]),
        "unit": unit,
        "goal": goal if target is not None else "",
        "target": math.nan if target is None else float(target),
        "status": _status(float(value), target, goal),
        "detail": detail,
        "source": str(source),
    }


def _metric(report: pd.DataFrame, metric: str) -> pd.Series | None:
    rows = report[(report["metric"] == metric) & (report["class_code"] == -1)]
    return rows.iloc[0] if len(rows) else None


def accuracy_rows(
    year: int, product: str, path: str | Path, targets: HeadlineTargets
) -> list[dict]:
    """Overall accuracy (validation samples, stratified sample) and kappa of one product."""
    report = pd.read_csv(path)
    oa_goal = getattr(targets.overall_accuracy, product, None)
    rows = []
    val = _metric(report, "overall_accuracy")
    if val is not None:
        n = int(val["n"])
        rows.append(
            _row(
                year,
                "Accuracy",
                f"{product}: overall accuracy, validation samples",
                val["value"],
                unit="1",
                ci=wilson_interval(float(val["value"]), n),
                target=oa_goal,
                detail=f"n = {n} samples; Wilson interval",
                source=path,
            )
        )
    strat = _metric(report, "overall_accuracy_stratified")
    if strat is not None:
        ci = (max(0.0, strat["ci95_low"]), min(1.0, strat["ci95_high"]))
        rows.append(
            _row(
                year,
                "Accuracy",
                f"{product}: overall accuracy, stratified sample",
                strat["value"],
                unit="1",
                ci=ci,
                target=oa_goal,
                detail=f"n = {int(strat['n'])} points; Olofsson et al. (2014)",
                source=path,
            )
        )
    kappa_goal = getattr(targets.kappa, product, None)
    kappa = _metric(report, "kappa")
    if kappa is not None and kappa_goal is not None:
        rows.append(
            _row(
                year,
                "Accuracy",
                f"{product}: Cohen's kappa, validation samples",
                kappa["value"],
                unit="1",
                target=kappa_goal,
                detail=f"n = {int(kappa['n'])} samples",
                source=path,
            )
        )
    return rows


def statistics_row(year: int, level: str, path: str | Path, targets: HeadlineTargets) -> dict:
    """Share of compared units within the tolerance of their official figures."""
    s = pd.read_csv(path).iloc[0]
    flag = next(c for c in s.index if c.startswith("share_within_"))[len("share_") :]
    n, within = int(s["n_compared"]), int(s[f"n_{flag}"])
    tol = f"{s['tolerance_pct']:g}"
    return _row(
        year,
        "Official statistics",
        f"{PLURALS.get(level, level)} within ±{tol} % of the official cropland area",
        100.0 * s[f"share_{flag}"] if n else math.nan,
        unit="%",
        target=targets.share_within_tolerance_pct,
        detail=f"{within} of {n} compared units; {int(s['n_partly_mapped'])} partly mapped",
        source=path,
    )


def soil_moisture_rows(year: int, path: str | Path, targets: HeadlineTargets) -> list[dict]:
    """PCC and RMSE of the calibrated soil moisture at held-out stations, per layer."""
    ev = pd.read_csv(path)
    rows = []
    for rec in ev[ev["product"] == "calibrated"].to_dict("records"):
        layer = "root zone" if rec["layer"] == "rootzone" else str(rec["layer"])
        detail = f"n = {int(rec['n'])} station-days"
        rows += [
            _row(
                year,
                "Soil moisture",
                f"{layer}: PCC, calibrated",
                rec["pcc"],
                unit="1",
                target=targets.soil_moisture_pcc,
                detail=detail,
                source=path,
            ),
            _row(
                year,
                "Soil moisture",
                f"{layer}: RMSE, calibrated",
                rec["rmse"],
                unit="m3/m3",
                target=targets.soil_moisture_rmse,
                goal="<=",
                detail=detail,
                source=path,
            ),
        ]
    return rows


def _of_year(table: pd.DataFrame, year: int) -> pd.DataFrame:
    """Rows of a QA summary (``tile`` = ``<tile>_<year>``) that belong to ``year``."""
    return table[table["tile"].astype(str).str.endswith(f"_{year}")]


def coverage_rows(
    year: int, fusion: str | Path, hants: str | Path, targets: HeadlineTargets
) -> list[dict]:
    """Fusion coverage (mean predicted share per date) and HANTS coverage (share fitted)."""
    f = _of_year(pd.read_csv(fusion), year)
    h = _of_year(pd.read_csv(hants), year)
    return [
        _row(
            year,
            "Fusion",
            "pixels predicted per 8-day date (mean)",
            f["predicted_pct"].mean() if len(f) else math.nan,
            unit="%",
            target=targets.fusion_coverage_pct,
            detail=f"mean over {int(f['targets'].sum())} dates of {len(f)} tile-years",
            source=fusion,
        ),
        _row(
            year,
            "HANTS",
            "pixels with a HANTS fit",
            100.0 - h["no_valid_sample_pct"].mean() if len(h) else math.nan,
            unit="%",
            target=targets.hants_coverage_pct,
            detail=f"mean over {len(h)} tile-years",
            source=hants,
        ),
    ]


def transfer_rows(year: int, path: str | Path, targets: HeadlineTargets) -> list[dict]:
    """Overall accuracy of the model trained in one region and applied in another."""
    rows = []
    for rec in pd.read_csv(path).to_dict("records"):
        aug = str(rec["augmentation"]).lower() in ("true", "1", "yes")
        figure = f"{rec['product']} OA, {rec['source']} → {rec['target']}" + (
            ", with augmentation" if aug else ""
        )
        detail = f"{rec['within_oa']:.3f} within {rec['source']}; n = {int(rec['n_target'])}"
        rows.append(
            _row(
                year,
                "Transfer",
                figure,
                rec["transfer_oa"],
                unit="1",
                target=targets.transfer_oa,
                detail=detail,
                source=path,
            )
        )
    return rows


def headline_table(
    products: Mapping[int, YearProducts],
    targets: HeadlineTargets,
    *,
    fusion_qa: str | Path | None = None,
    hants_qa: str | Path | None = None,
) -> pd.DataFrame:
    """The headline figures of every year (columns :data:`COLUMNS`)."""
    rows: list[dict] = []
    for year, p in sorted(products.items()):
        for product, path in p.accuracy.items():
            rows += accuracy_rows(year, product, path, targets)
        rows += [statistics_row(year, lvl, path, targets) for lvl, path in p.statistics.items()]
        if p.soil_moisture is not None:
            rows += soil_moisture_rows(year, p.soil_moisture, targets)
        if fusion_qa is not None and hants_qa is not None:
            rows += coverage_rows(year, fusion_qa, hants_qa, targets)
        for path in p.transfer:
            rows += transfer_rows(year, path, targets)
    return pd.DataFrame(rows, columns=COLUMNS)


def tiles_extent(path: str | Path) -> tuple[float, float, float, float]:
    """West, south, east, north (degrees, WGS84) of the tiles in a tiles GeoPackage."""
    import geopandas as gpd

    w, s, e, n = gpd.read_file(path).to_crs("EPSG:4326").total_bounds
    return float(w), float(s), float(e), float(n)


def _degrees(value: float, positive: str, negative: str) -> str:
    return f"{abs(value):.2f}° {positive if value >= 0 else negative}"


def facts_line(facts: RunFacts) -> str:
    """Years, tiles and extent of the run, in one sentence."""
    w, s, e, n = facts.extent
    years = ", ".join(str(y) for y in facts.years)
    return (
        f"Years {years}; {facts.n_tiles} tiles of {facts.tile_km} km; extent "
        f"{_degrees(w, 'E', 'W')} to {_degrees(e, 'E', 'W')}, "
        f"{_degrees(s, 'N', 'S')} to {_degrees(n, 'N', 'S')}."
    )


def _number(value: float, unit: str) -> str:
    if not np.isfinite(value):
        return "—"
    if unit == "%":
        return f"{value:.1f} %"
    return f"{value:.4f} {unit}" if unit != "1" else f"{value:.3f}"


def _goal(goal: str, target: float, unit: str) -> str:
    """A goal as set in the config (``≥ 0.9318``, ``≤ 0.03 m3/m3``)."""
    if not goal:
        return ""
    suffix = {"1": "", "%": " %"}.get(unit, f" {unit}")
    return f"{'≥' if goal == '>=' else '≤'} {target:g}{suffix}"


def display_table(table: pd.DataFrame) -> pd.DataFrame:
    """The headline table as the report shows it: numbers as text, goal and status."""
    lo, hi = table["ci95_low"], table["ci95_high"]
    has_ci = np.isfinite(lo) & np.isfinite(hi)
    goal_text = [
        _goal(g, t, u)
        for g, t, u in zip(table["goal"], table["target"], table["unit"], strict=True)
    ]
    return pd.DataFrame(
        {
            "year": table["year"].astype(str),
            "section": table["section"],
            "figure": table["figure"],
            "value": [_number(v, u) for v, u in zip(table["value"], table["unit"], strict=True)],
            "95 % interval": [
                f"{_number(a, u)} – {_number(b, u)}" if ok else ""
                for a, b, u, ok in zip(lo, hi, table["unit"], has_ci, strict=True)
            ],
            "goal": goal_text,
            "met": pd.array(
                [{"met": True, "missed": False}.get(s, pd.NA) for s in table["status"]],
                dtype="boolean",
            ),
            "detail": table["detail"],
        }
    )


def write_headline_html(table: pd.DataFrame, facts: RunFacts, path: str | Path) -> Path:
    """The summary page: the demo banner, the run's years, tiles and extent, the table."""
    return write_html_table(
        display_table(table),
        path,
        title="Headline figures",
        banner=DEMO_BANNER if facts.demo else "",
        caption=facts_line(facts)
        + " Each figure is read from the product table named in headline.csv"
        " (column source); goals are set in the config (report.targets).",
        flag_column="met",
        flag_labels=("met", "missed"),
    )
