"""Base-pair selection: for each 8-day target date, two Landsat-MODIS pairs that bracket it.

A *pair* is a Landsat scene with a MODIS observation on the same day (or within
``modis_max_offset_days``); its date is the Landsat date. For a target date ``t``
(DOY 1, 9, ..., 361: 46 per year) the selector chooses pair 1 on or before ``t``
and pair 2 on or after ``t`` (two different scenes) among the *eligible* scenes:
season-free ``quality`` at least ``min_quality`` (the ``score`` without the
season weight, so the crop calendar ranks scenes but never rules out a whole
off-season) and ``score`` above 0 (a fully filled scene is never chosen), at
most ``max_gap_days`` from ``t``. Each scene's utility is::

    u = score * exp(-|date - t| / tau_days)

and the chosen pair maximises ``u1 * u2`` (ties: smaller total gap, then the
earlier pair 1). The trade-off: a scene ``tau_days`` farther away must score
``e`` (2.72) times higher to win; with the default 32 days, a scene 16 days
farther needs a 1.65 times higher score.

The baseline :func:`nearest_clear_pairs` takes the nearest scenes on each side
whose QA cloud + shadow share is at most ``clear_max_cloud`` and whose valid share
is at least ``clear_min_valid``: the usual metadata-threshold practice.

Both return one row per target with :data:`PAIR_COLUMNS`; ``status`` is ``ok``,
``missing_before``, ``missing_after`` or ``missing_both``, and ``reason`` says why
a side is missing. A side that was found is filled even when the other is missing.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Callable, Sequence

import numpy as np
import pandas as pd

from agrifactory.errors import InputError
from agrifactory.io.pairs import PAIR_COLUMNS, read_pairs_table, write_pairs_table
from agrifactory.quality.config import PairSettings

#: Columns of the pairs table, in order.

#: Days between target dates and their number per year.
TARGET_STEP_DAYS = 8
TARGETS_PER_YEAR = 46


def target_dates(year: int) -> list[dt.date]:
    """The 46 8-day target dates of a year: DOY 1, 9, ..., 361."""
    start = dt.date(year, 1, 1)
    return [start + dt.timedelta(days=TARGET_STEP_DAYS * k) for k in range(TARGETS_PER_YEAR)]


def _as_date(value: object) -> dt.date:
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    return pd.Timestamp(value).date()


def _modis_match(
    dates: list[dt.date], modis_dates: Sequence[dt.date] | None, max_offset: int
) -> np.ndarray:
    """True for each Landsat date with a MODIS date at most ``max_offset`` days away."""
    if modis_dates is None:
        return np.ones(len(dates), dtype=bool)
    modis = np.array(sorted(_as_date(d).toordinal() for d in modis_dates))
    if modis.size == 0:
        return np.zeros(len(dates), dtype=bool)
    out = np.zeros(len(dates), dtype=bool)
    for i, d in enumerate(dates):
        out[i] = np.abs(modis - d.toordinal()).min() <= max_offset
    return out


class _Scenes:
    """The scene table as arrays, with the filters both selectors share."""

    def __init__(
        self, scores: pd.DataFrame, modis_dates: Sequence[dt.date] | None, cfg: PairSettings
    ) -> None:
        missing = [c for c in ("date", "score") if c not in scores]
        if missing:
            raise InputError(
                "scores table",
                f"lacks column(s) {missing}",
                "pass the table written by the quality rule",
            )
        self.dates = [_as_date(d) for d in scores["date"]]
        self.ordinal = np.array([d.toordinal() for d in self.dates], dtype=np.int64)
        self.score = scores["score"].to_numpy(dtype=np.float64)
        # The eligibility threshold applies to the season-free quality when the table has it.
        quality = scores["quality"] if "quality" in scores else scores["score"]
        self.quality = quality.to_numpy(dtype=np.float64)
        self.table = scores.reset_index(drop=True)
        self.modis = _modis_match(self.dates, modis_dates, cfg.modis_max_offset_days)
        self.cfg = cfg

    def side(self, target: dt.date, before: bool) -> tuple[np.ndarray, str]:
        """Indices on one side of the target that pass the shared filters, or why none do."""
        t = target.toordinal()
        word = "on or before" if before else "on or after"
        side = self.ordinal <= t if before else self.ordinal >= t
        if not side.any():
            return np.zeros(0, dtype=int), f"no scene {word} the target"
        gap = np.abs(self.ordinal - t)
        near = side & (gap <= self.cfg.max_gap_days)
        if not near.any():
            nearest = int(gap[side].min())
            return np.zeros(0, dtype=int), (
                f"no scene within {self.cfg.max_gap_days} days {word} the target "
                f"(nearest {nearest} days away)"
            )
        paired = near & self.modis
        if not paired.any():
            return np.zeros(0, dtype=int), (
                f"no scene within {self.cfg.max_gap_days} days {word} the target has a MODIS "
                f"date within {self.cfg.modis_max_offset_days} days"
            )
        return np.flatnonzero(paired), ""


def _pick(
    scenes: _Scenes,
    target: dt.date,
    before: np.ndarray,
    after: np.ndarray,
    utility: Callable[[np.ndarray], np.ndarray],
) -> tuple[int | None, int | None, str]:
    """The best distinct (before, after) pair by product of utilities, with fallbacks."""
    t = target.toordinal()
    best: tuple[float, int, int, int, int] | None = None
    ub, ua = utility(before), utility(after)
    for i, b in enumerate(before):
        for j, a in enumerate(after):
            if a == b:
                continue
            gap = abs(int(scenes.ordinal[b]) - t) + abs(int(scenes.ordinal[a]) - t)
            key = (-(ub[i] * ua[j]), gap, int(scenes.ordinal[b]), int(b), int(a))
            if best is None or key < best:
                best = key
    if best is not None:
        return best[3], best[4], ""
    # No distinct pair: one side is empty, or both hold only the scene on the target date.
    b = int(before[np.argmax(ub)]) if before.size else None
    a = int(after[np.argmax(ua)]) if after.size else None
    if b is not None and b == a:
        return (
            b,
            None,
            (
                "the only eligible scene on or after the target is the one on the target date, "
                "already pair 1"
            ),
        )
    return b, a, ""


def _row(
    scenes: _Scenes, target: dt.date, b: int | None, a: int | None, reasons: list[str], method: str
) -> dict[str, object]:
    t = target.toordinal()

    def side(k: int | None) -> tuple[object, float, float]:
        if k is None:
            return None, math.nan, math.nan
        return scenes.dates[k], float(scenes.score[k]), float(scenes.ordinal[k] - t)

    d1, s1, g1 = side(b)
    d2, s2, g2 = side(a)
    status = {
        (True, True): "ok",
        (False, True): "missing_before",
        (True, False): "missing_after",
        (False, False): "missing_both",
    }[(b is not None, a is not None)]
    return {
        "target_date": target,
        "target_doy": target.timetuple().tm_yday,
        "status": status,
        "pair1_date": d1,
        "pair1_score": s1,
        "pair1_gap_days": g1,
        "pair2_date": d2,
        "pair2_score": s2,
        "pair2_gap_days": g2,
        "reason": "; ".join(r for r in reasons if r),
        "method": method,
    }


def _score_filter(scenes: _Scenes, idx: np.ndarray, word: str) -> tuple[np.ndarray, str]:
    cfg = scenes.cfg
    q = scenes.quality[idx]
    ok = idx[(q >= cfg.min_quality) & (scenes.score[idx] > 0)]
    if ok.size or not idx.size:
        return ok, ""
    k = idx[np.argmax(q)]
    return ok, (
        f"all {idx.size} scene(s) {word} the target within {cfg.max_gap_days} days have quality "
        f"below {cfg.min_quality:.2f} (best {q.max():.2f} on {scenes.dates[k]})"
    )


def select_pairs(
    scores: pd.DataFrame,
    targets: Sequence[dt.date] | int,
    modis_dates: Sequence[dt.date] | None = None,
    config: PairSettings | None = None,
) -> pd.DataFrame:
    """Quality-ranked bracketing base pairs for each target date.

    Parameters
    ----------
    scores
        The scores table (needs ``date`` and ``score``); may include scenes of the
        neighbouring years so that January and December targets can be bracketed.
    targets
        Target dates, or a year for its 46 8-day targets.
    modis_dates
        Dates with a usable MODIS observation; None when MODIS is daily and complete.
    config
        Selection settings; defaults when None.
    """
    cfg = config or PairSettings()
    scenes = _Scenes(scores, modis_dates, cfg)
    rows = []
    for target in target_dates(targets) if isinstance(targets, int) else targets:
        target = _as_date(target)
        t = target.toordinal()

        def utility(idx: np.ndarray, t: int = t) -> np.ndarray:
            gap = np.abs(scenes.ordinal[idx] - t)
            return scenes.score[idx] * np.exp(-gap / cfg.tau_days)

        before, why_b = scenes.side(target, before=True)
        after, why_a = scenes.side(target, before=False)
        before, score_b = _score_filter(scenes, before, "on or before")
        after, score_a = _score_filter(scenes, after, "on or after")
        b, a, why_pick = _pick(scenes, target, before, after, utility)
        reasons = [
            (why_b or score_b) if b is None else "",
            (why_a or score_a) if a is None else "",
            why_pick,
        ]
        rows.append(_row(scenes, target, b, a, reasons, "quality"))
    return pd.DataFrame(rows, columns=PAIR_COLUMNS)


def nearest_clear_pairs(
    scores: pd.DataFrame,
    targets: Sequence[dt.date] | int,
    modis_dates: Sequence[dt.date] | None = None,
    config: PairSettings | None = None,
) -> pd.DataFrame:
    """Baseline: the nearest scenes on each side that pass a QA cloud-cover threshold.

    Eligible scenes have ``qa_cloud_cover <= clear_max_cloud`` and ``valid_fraction
    >= clear_min_valid`` (and > 0); scenes without QA_PIXEL (NaN cloud cover) are
    not eligible. Same columns as :func:`select_pairs`, ``method`` = ``nearest_clear``.
    """
    cfg = config or PairSettings()
    for col in ("qa_cloud_cover", "valid_fraction"):
        if col not in scores:
            raise InputError(
                "scores table",
                f"lacks column {col!r}",
                "pass the table written by the quality rule",
            )
    scenes = _Scenes(scores, modis_dates, cfg)
    cover = scores["qa_cloud_cover"].to_numpy(dtype=np.float64)
    valid = scores["valid_fraction"].to_numpy(dtype=np.float64)
    with np.errstate(invalid="ignore"):
        clear = (cover <= cfg.clear_max_cloud) & (valid >= cfg.clear_min_valid) & (valid > 0)
    rows = []
    for target in target_dates(targets) if isinstance(targets, int) else targets:
        target = _as_date(target)
        t = target.toordinal()

        def closeness(idx: np.ndarray, t: int = t) -> np.ndarray:
            return np.exp(-np.abs(scenes.ordinal[idx] - t).astype(np.float64))

        picked, reasons = [], []
        for before in (True, False):
            idx, why = scenes.side(target, before)
            word = "on or before" if before else "on or after"
            ok = idx[clear[idx]]
            if not why and not ok.size:
                why = (
                    f"no scene {word} the target within {cfg.max_gap_days} days has QA cloud "
                    f"cover <= {cfg.clear_max_cloud:.2f} and valid share >= "
                    f"{cfg.clear_min_valid:.2f}"
                )
            picked.append(ok)
            reasons.append(why)
        b, a, why_pick = _pick(scenes, target, picked[0], picked[1], closeness)
        row_reasons = [reasons[0] if b is None else "", reasons[1] if a is None else "", why_pick]
        rows.append(_row(scenes, target, b, a, row_reasons, "nearest_clear"))
    return pd.DataFrame(rows, columns=PAIR_COLUMNS)


__all__ = [
    "PAIR_COLUMNS",
    "nearest_clear_pairs",
    "read_pairs_table",
    "select_pairs",
    "target_dates",
    "write_pairs_table",
]
