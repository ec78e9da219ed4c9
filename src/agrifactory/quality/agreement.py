"""How a quality score agrees with a reference cloudiness (a QA band or a cloud mask)."""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import stats


def rank_agreement(score: np.ndarray, cloudiness: np.ndarray) -> float:
    """Spearman rank correlation of a score with a cloudy fraction (good agreement: near -1)."""
    score = np.asarray(score, dtype=np.float64)
    cloudiness = np.asarray(cloudiness, dtype=np.float64)
    ok = np.isfinite(score) & np.isfinite(cloudiness)
    if ok.sum() < 3:
        return float("nan")
    return float(stats.spearmanr(score[ok], cloudiness[ok])[0])


def disagreements(table: pd.DataFrame, score: str, cloudiness: str, n: int = 8) -> pd.DataFrame:
    """The ``n`` rows where the score's rank and the clear-share rank differ most.

    Both columns are turned into percentile ranks (score high = good; cloudiness
    low = good); ``rank_gap = rank(score) - rank(1 - cloudiness)`` lies in [-1, 1].
    A positive gap means the score rates the scene better than the reference does
    (a cloud the score missed, or a false alarm of the reference); a negative gap
    the opposite.
    """
    out = table.copy()
    r_score = out[score].rank(pct=True)
    r_ref = (1.0 - out[cloudiness]).rank(pct=True)
    out["rank_gap"] = r_score - r_ref
    out["direction"] = np.where(
        out["rank_gap"] > 0, "score better than reference", "score worse than reference"
    )
    order = out["rank_gap"].abs().sort_values(ascending=False, kind="stable").index
    return out.loc[order[:n]]
