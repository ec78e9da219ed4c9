"""Gap filling of the fused series, after ESTARFM: temporal interpolation and regression.

Two methods fill a pixel that ESTARFM could not predict at a date (flag 0 or 255):

* **temporal fill** (:func:`temporal_at`, flag ``QA_TEMPORAL_FILL``): linear
  interpolation in time between the pixel's nearest predicted values (flags 1-4)
  strictly before and strictly after the date, each at most ``max_gap_days`` away;
* **regression fill** (:class:`RegressionSums`, flag ``QA_REGRESSION``): the date's
  coarse value through the line ``fine = a + b * coarse`` fitted by least squares
  to the pixel's clear Landsat observations of the stack and the MODIS composites
  holding them; where the pixel has fewer than ``min_points`` of them (or their
  coarse values hardly vary), the line pooled over the ``(2 * window + 1)`` square
  around it. A value outside the open valid range is not used.

:func:`fill_series` runs them in the configured order on a (dates, rows, cols)
series; the held-out validation uses the same functions on single dates.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from agrifactory.fusion.params import QA_PREDICTED, QA_REGRESSION, QA_TEMPORAL_FILL
from agrifactory.fusion.statistics import box_sums

#: Least standard deviation of a fit's coarse values (NDVI): below it the slope is noise.
MIN_COARSE_STD = 0.01


def predicted(flags: np.ndarray) -> np.ndarray:
    """Where a flag stack holds an ESTARFM prediction (flags 1-4): the temporal fill's sources."""
    return np.isin(flags, QA_PREDICTED)


def interpolate(
    values: np.ndarray,
    days: np.ndarray,
    before: np.ndarray,
    after: np.ndarray,
    day: float,
    max_gap: float,
) -> np.ndarray:
    """Linear interpolation at ``day`` between two dates of a series, per pixel.

    ``values`` is (dates, rows, cols) at ``days``; ``before``/``after`` (rows, cols)
    index the two dates (-1 / ``len(days)``: none). NaN where either is missing or
    more than ``max_gap`` days from ``day``.
    """
    count = len(days)
    ok = (before >= 0) & (after < count)
    b = np.clip(before, 0, count - 1)
    a = np.clip(after, 0, count - 1)
    db = day - days[b]
    da = days[a] - day
    ok &= (db <= max_gap) & (da <= max_gap) & (db > 0) & (da > 0)
    vb = np.take_along_axis(values, b[None], axis=0)[0].astype(np.float64)
    va = np.take_along_axis(values, a[None], axis=0)[0].astype(np.float64)
    with np.errstate(invalid="ignore", divide="ignore"):
        out = vb + (va - vb) * (db / (db + da))
    return np.where(ok, out, np.nan)


def temporal_at(
    values: np.ndarray, source: np.ndarray, days: np.ndarray, day: float, max_gap: float
) -> np.ndarray:
    """Temporal fill at ``day`` from the ``source`` pixels of a (dates, rows, cols) series.

    Per pixel, the nearest source strictly before and strictly after ``day``; only
    dates within ``max_gap`` days are looked at (``days`` ascending).
    """
    lo = int(np.searchsorted(days, day - max_gap, side="left"))
    mid = int(np.searchsorted(days, day, side="left"))
    hi = int(np.searchsorted(days, day + max_gap, side="right"))
    at = int(np.searchsorted(days, day, side="right"))
    t = np.arange(len(days))[:, None, None]
    shape = values.shape[1:]
    before = np.full(shape, -1)
    after = np.full(shape, len(days))
    if mid > lo:
        before = np.where(source[lo:mid], t[lo:mid], -1).max(axis=0)
    if hi > at:
        after = np.where(source[at:hi], t[at:hi], len(days)).min(axis=0)
    return interpolate(values, days, before, after, day, max_gap)


@dataclass
class RegressionSums:
    """Per-pixel sums of the Landsat-MODIS pairs: n, Σx, Σy, Σx², Σxy (x coarse, y fine)."""

    n: np.ndarray
    sx: np.ndarray
    sy: np.ndarray
    sxx: np.ndarray
    sxy: np.ndarray

    @classmethod
    def zeros(cls, shape: tuple[int, int]) -> RegressionSums:
        return cls(*(np.zeros(shape) for _ in range(5)))

    def add(self, fine: np.ndarray, coarse: np.ndarray, sign: float = 1.0) -> None:
        """Add (``sign`` -1: remove) the pixels finite in both images."""
        ok = np.isfinite(fine) & np.isfinite(coarse)
        x = np.where(ok, coarse, 0.0).astype(np.float64)
        y = np.where(ok, fine, 0.0).astype(np.float64)
        self.n += sign * ok
        self.sx += sign * x
        self.sy += sign * y
        self.sxx += sign * x * x
        self.sxy += sign * x * y

    def without(self, fine: np.ndarray, coarse: np.ndarray) -> RegressionSums:
        """These sums less one observation (a held-out scene)."""
        out = RegressionSums(*(a.copy() for a in self.arrays()))
        out.add(fine, coarse, -1.0)
        return out

    def arrays(self) -> tuple[np.ndarray, ...]:
        return self.n, self.sx, self.sy, self.sxx, self.sxy

    def pooled(self, half: int) -> RegressionSums:
        """Sums over the ``(2 half + 1)`` square around each pixel, clipped at the edges."""
        rows, cols = self.n.shape
        r, c = np.arange(rows), np.arange(cols)
        bounds = (
            np.clip(r - half, 0, rows), np.clip(r + half + 1, 0, rows),
            np.clip(c - half, 0, cols), np.clip(c + half + 1, 0, cols),
        )  # fmt: skip
        return RegressionSums(*box_sums(list(self.arrays()), *bounds))

    def line(self, min_points: int) -> tuple[np.ndarray, np.ndarray]:
        """Least-squares intercept and slope; NaN with fewer than ``min_points`` pairs
        or a coarse standard deviation below :data:`MIN_COARSE_STD`."""
        n = np.maximum(self.n, 1)
        cxx = self.sxx - self.sx * self.sx / n
        cxy = self.sxy - self.sx * self.sy / n
        ok = (self.n >= min_points) & (cxx > MIN_COARSE_STD**2 * n)
        with np.errstate(invalid="ignore", divide="ignore"):
            b = np.where(ok, cxy / cxx, np.nan)
        return (self.sy - b * self.sx) / n, b

    def coefficients(self, min_points: int, window: int) -> tuple[np.ndarray, np.ndarray]:
        """The pixel's own line where it has one, else the line pooled over ``window``."""
        a, b = self.line(min_points)
        if window > 0:
            pa, pb = self.pooled(window).line(min_points)
            own = np.isfinite(b)
            a, b = np.where(own, a, pa), np.where(own, b, pb)
        return a, b


def regression_at(
    line: tuple[np.ndarray, np.ndarray], coarse: np.ndarray, valid_range: tuple[float, float]
) -> np.ndarray:
    """``a + b * coarse``; NaN where there is no line or the value leaves the open range."""
    a, b = line
    out = a + b * coarse.astype(np.float64)
    lo, hi = valid_range
    with np.errstate(invalid="ignore"):
        return np.where((out > lo) & (out < hi), out, np.nan)


@dataclass(frozen=True)
class FillMethods:
    """What :func:`fill_series` and :func:`fill_date` need: the order and each method's input."""

    order: Sequence[str]
    max_gap_days: float
    line: tuple[np.ndarray, np.ndarray] | None
    valid_range: tuple[float, float]


def fill_date(
    value: np.ndarray,
    flag: np.ndarray,
    methods: FillMethods,
    temporal: Callable[[], np.ndarray],
    coarse: Callable[[], np.ndarray],
) -> None:
    """Fill the NaN pixels of one date in place, method after method.

    ``temporal`` and ``coarse`` give the date's interpolated values and its coarse
    image when asked (only if a pixel is still empty).
    """
    todo = ~np.isfinite(value)
    for name in methods.order:
        if not todo.any():
            return
        if name == "temporal":
            filled, code = temporal(), QA_TEMPORAL_FILL
        elif methods.line is not None:
            filled, code = regression_at(methods.line, coarse(), methods.valid_range), QA_REGRESSION
        else:
            continue
        put = todo & np.isfinite(filled)
        value[put] = filled[put]
        flag[put] = code
        todo &= ~put


def fill_series(
    values: np.ndarray,
    flags: np.ndarray,
    days: np.ndarray,
    methods: FillMethods,
    coarse: Callable[[int], np.ndarray],
) -> None:
    """Fill a (dates, rows, cols) series and its flags in place.

    The temporal fill interpolates only between ESTARFM predictions (flags 1-4) as
    they were before any filling; ``coarse(t)`` is date ``t``'s coarse image.
    """
    source = predicted(flags)
    for t in range(len(days)):
        fill_date(
            values[t],
            flags[t],
            methods,
            lambda t=t: temporal_at(values, source, days, days[t], methods.max_gap_days),
            lambda t=t: coarse(t),
        )
