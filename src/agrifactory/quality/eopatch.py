"""The real-data check: scene scores against the cloud mask of an eo-learn patch.

An eo-learn EOPatch folder holds ``data/NDVI.npy`` (time, rows, cols, 1),
``mask/CLM.npy`` (cloud mask), ``mask/IS_DATA.npy`` and ``timestamps.json``.
The scores are computed from NDVI and IS_DATA only; CLM is the truth they are
compared with (Spearman rank correlation with the cloudy share of each date, and
the dates where the two disagree most).

Run as ``python -m agrifactory.quality.eopatch FOLDER [--quicklook PNG]`` to
train a learned scorer on the patch's best-scored dates (still without CLM),
print the figures of ``docs/quality.md`` as JSON and draw the quicklook.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from agrifactory.errors import InputError
from agrifactory.quality.agreement import disagreements, rank_agreement
from agrifactory.quality.config import CropCalendar, ScorerSettings, ScoringSettings
from agrifactory.quality.quicklook import quicklook_strip, scene_titles
from agrifactory.quality.scores import SceneScorer, SceneStack, score_stack

#: Scoring settings of the check: no season weighting (score == quality).
CHECK_CONFIG = ScoringSettings(calendar=CropCalendar(off_season_weight=1.0))


@dataclass
class EoPatch:
    """NDVI, data mask and cloud mask of an eo-learn patch, each (time, rows, cols)."""

    dates: list[dt.date]
    ndvi: np.ndarray
    is_data: np.ndarray
    clm: np.ndarray
    path: Path


def _load(path: Path) -> np.ndarray:
    if not path.exists():
        raise InputError(path, "file not found", "expected an eo-learn EOPatch folder")
    try:
        arr = np.load(path)
    except (ValueError, OSError) as exc:
        raise InputError(
            path, f"cannot be read as a NumPy array ({exc})", "the file is corrupt: restore it"
        ) from None
    if arr.ndim != 4 or arr.shape[-1] != 1:
        raise InputError(path, f"has shape {arr.shape}; expected (time, rows, cols, 1)")
    return arr[..., 0]


def read_eopatch(folder: str | Path) -> EoPatch:
    """Read NDVI, IS_DATA, CLM and the dates of an EOPatch folder."""
    folder = Path(folder)
    stamps = folder / "timestamps.json"
    if not stamps.exists():
        raise InputError(stamps, "file not found", "expected an eo-learn EOPatch folder")
    try:
        dates = [dt.date.fromisoformat(str(t)[:10]) for t in json.loads(stamps.read_text())]
    except (ValueError, TypeError) as exc:
        raise InputError(stamps, f"is not a JSON list of ISO dates ({exc})") from None
    ndvi = _load(folder / "data" / "NDVI.npy").astype(np.float32)
    is_data = _load(folder / "mask" / "IS_DATA.npy").astype(bool)
    clm = _load(folder / "mask" / "CLM.npy").astype(bool)
    for name, arr in (("NDVI", ndvi), ("IS_DATA", is_data), ("CLM", clm)):
        if arr.shape[0] != len(dates) or arr.shape != ndvi.shape:
            raise InputError(
                folder,
                f"{name} has shape {arr.shape}; expected "
                f"({len(dates)}, rows, cols) like NDVI {ndvi.shape}",
            )
    return EoPatch(dates, ndvi, is_data, clm, folder)


@dataclass
class EopatchCheck:
    """Scores with the cloudy share per date, the rank correlation and the worst disagreements."""

    table: pd.DataFrame
    spearman: float
    disagreements: pd.DataFrame


def check_eopatch(
    patch: EoPatch,
    config: ScoringSettings = CHECK_CONFIG,
    scorer: SceneScorer | None = None,
    column: str = "score",
    n_disagreements: int = 8,
) -> EopatchCheck:
    """Score the patch's dates without CLM and compare ``column`` with CLM's cloudy share."""
    stack = SceneStack(dates=patch.dates, ndvi=patch.ndvi, valid=patch.is_data)
    table = score_stack(stack, config, scorer).table
    data = patch.is_data.sum(axis=(1, 2))
    with np.errstate(invalid="ignore", divide="ignore"):
        table["cloud_fraction"] = (patch.clm & patch.is_data).sum(axis=(1, 2)) / data
    table["index"] = np.arange(len(table))
    rho = rank_agreement(table[column].to_numpy(), table["cloud_fraction"].to_numpy())
    worst = disagreements(table, column, "cloud_fraction", n_disagreements)
    return EopatchCheck(table, rho, worst)


def disagreement_quicklook(
    patch: EoPatch,
    checks: list[tuple[str, EopatchCheck]],
    path: str | Path,
    column: str = "score",
) -> Path:
    """PNG of the most-disagreeing dates of each check (one row per check).

    Each panel shows the date's NDVI with the check's score and CLM's cloudy share.
    """
    images, titles = [], []
    ncols = max(len(c.disagreements) for _, c in checks)
    for label, check in checks:
        rows = check.disagreements
        images += [patch.ndvi[int(i)] for i in rows["index"]]
        titles += scene_titles(
            [f"{label}: {d}" for d in rows["date"]],
            rows[column],
            [f"CLM cloud {c:.0%}" for c in rows["cloud_fraction"]],
        )
        for _ in range(ncols - len(rows)):  # keep one check per row
            images.append(np.full((2, 2), np.nan))
            titles.append("")
    summary = ", ".join(f"{label} {c.spearman:.2f}" for label, c in checks)
    return quicklook_strip(
        images,
        titles,
        path,
        ncols=ncols,
        dpi=90,
        panel_inches=1.4,
        suptitle=f"eo-learn patch ({len(checks[0][1].table)} Sentinel-2 dates, NDVI): dates "
        f"where the score and the cloud mask disagree most; Spearman with CLM: {summary}",
    )


def main(argv: list[str] | None = None) -> int:
    """Run the check with and without a learned scorer; print the figures as JSON."""
    import torch

    from agrifactory.quality.scorer import extract_patches, scene_scorer, train_scorer

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("folder", type=Path)
    parser.add_argument("--quicklook", type=Path)
    parser.add_argument("--train-scenes", type=int, default=12)
    parser.add_argument("--epochs", type=int, default=6)
    defaults = ScorerSettings()
    parser.add_argument("--samples-per-epoch", type=int, default=defaults.samples_per_epoch)
    parser.add_argument("--width", type=int, default=defaults.width)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)

    patch = read_eopatch(args.folder)
    rule = check_eopatch(patch)
    # Training data without CLM: the best dates by the rule-based score.
    top = np.argsort(-rule.table["score"].to_numpy(), kind="stable")[: args.train_scenes]
    chunks = [extract_patches(patch.ndvi[i], patch.is_data[i], 32, stride=8) for i in top]
    groups = np.repeat(np.arange(len(chunks)), [len(c) for c in chunks])
    cfg = ScorerSettings(
        width=args.width, epochs=args.epochs, samples_per_epoch=args.samples_per_epoch
    )
    model, metrics = train_scorer(np.concatenate(chunks), cfg, groups=groups, seed=args.seed)
    combined = check_eopatch(patch, scorer=scene_scorer(model))
    learned = rank_agreement(combined.table["learned_score"], combined.table["cloud_fraction"])
    learned_worst = disagreements(combined.table, "learned_score", "cloud_fraction", 8)
    if args.quicklook:
        checks = [("rules", rule), ("rules+CNN", combined)]
        disagreement_quicklook(patch, checks, args.quicklook)

    def listing(rows: pd.DataFrame, column: str) -> list[dict[str, object]]:
        return [
            {
                "date": str(r.date),
                column: round(float(getattr(r, column)), 3),
                "cloud_fraction": round(float(r.cloud_fraction), 3),
                "rank_gap": round(float(r.rank_gap), 3),
            }
            for r in rows.itertuples()
        ]

    report = {
        "dates": len(patch.dates),
        "spearman_rule_score": rule.spearman,
        "spearman_learned_only": learned,
        "spearman_combined_score": combined.spearman,
        "training_dates": [str(patch.dates[i]) for i in top],
        "training_dates_clm_cloud": [
            round(float(c), 3) for c in rule.table["cloud_fraction"].to_numpy()[top]
        ],
        "scorer_metrics": {k: v for k, v in metrics.items() if k != "config"},
        "disagreements_rule": listing(rule.disagreements, "score"),
        "disagreements_combined": listing(combined.disagreements, "score"),
        "disagreements_learned": listing(learned_worst, "learned_score"),
    }
    print(json.dumps(report, indent=1, default=str))
    return 0


if __name__ == "__main__":
    sys.exit(main())
