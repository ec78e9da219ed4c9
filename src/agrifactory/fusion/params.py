"""ESTARFM parameters, block layouts and per-pixel QA flags."""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from typing import Literal

from agrifactory.errors import ConfigError

Layout = Literal["reference", "halo"]
LAYOUTS: tuple[str, ...] = ("reference", "halo")

#: QA flag: not predicted, because the pixel is masked (NaN or background) in one of
#: the five images, or its prediction is not a finite number.
QA_INVALID = 0
#: QA flag: the ESTARFM prediction from the weighted similar pixels (step 4).
QA_WEIGHTED = 1
#: QA flag: the weighted prediction fell outside the valid range, so the temporally
#: weighted mean of the similar pixels' fine values was used instead.
QA_OUT_OF_RANGE = 2
#: QA flag: five or fewer similar pixels, so the centre's fine values were shifted by
#: the mean coarse change of the window (step 5).
QA_TEMPORAL = 3

QA_NAMES: dict[int, str] = {
    QA_INVALID: "invalid",
    QA_WEIGHTED: "weighted",
    QA_OUT_OF_RANGE: "out_of_range_fallback",
    QA_TEMPORAL: "temporal_fallback",
}


@dataclass(frozen=True)
class EstarfmParams:
    """Settings of ESTARFM (Zhu et al. 2010); the defaults are the authors'.

    Parameters
    ----------
    half_window
        Half width ``w`` of the search window (51 x 51 pixels for 25).
    classes
        Estimated number of land-cover classes; the similarity threshold of a band
        is ``std * 2 / classes``.
    valid_range
        ``(min, max)`` of a plausible value. A weighted prediction ``<= min`` or
        ``>= max`` is replaced by the out-of-range fallback, as in the reference
        code. Reflectance x 10000: ``(0, 10000)``; NDVI: ``(-1, 1)``.
    background
        Value that marks missing pixels besides NaN, or ``None`` for NaN only.
    block_size
        Edge of the processing block whose fine images give the similarity
        thresholds (see ``layout``).
    layout
        ``"reference"``: the authors' non-overlapping blocks of ``block_size``
        from the top-left corner; thresholds from each block, windows and
        temporal means clipped at the block's border. ``"halo"``: no block
        borders; thresholds from the ``block_size`` square centred on each pixel
        and windows clipped only at the array's edge, so a result does not depend
        on how the image is cut into blocks or tiles.
    min_coarse_change
        The conversion coefficient V is fitted only where the similar pixels'
        mean coarse values of the two base dates differ by at least this much;
        ``None`` means the reference rule ``0.02 * valid_range[1]``.
    significance
        Largest F-test p-value for which a fitted V is kept.
    max_conversion
        Largest V kept (V must also be > 0); otherwise V = 1.
    min_candidates
        The weighted prediction needs more than this many similar pixels;
        otherwise the temporal fallback is used (5 in the reference).
    cell_capacity
        Most distinct coarse cells kept per window by :func:`prepare`; a window
        with more is predicted by the exact per-pixel path instead.
    """

    half_window: int = 25
    classes: float = 4.0
    valid_range: tuple[float, float] = (0.0, 10000.0)
    background: float | None = -9999.0
    block_size: int = 500
    layout: Layout = "halo"
    min_coarse_change: float | None = None
    significance: float = 0.05
    max_conversion: float = 5.0
    min_candidates: int = 5
    cell_capacity: int = 128

    def __post_init__(self) -> None:
        if int(self.half_window) != self.half_window or self.half_window < 1:
            raise ConfigError(f"half_window must be a positive integer, got {self.half_window!r}")
        if not self.classes > 0:
            raise ConfigError(f"classes must be > 0, got {self.classes!r}")
        lo, hi = self.valid_range
        if not (math.isfinite(lo) and math.isfinite(hi) and lo < hi):
            raise ConfigError(
                f"valid_range must be two finite numbers min < max, got {self.valid_range!r}"
            )
        if self.background is not None and math.isnan(self.background):
            raise ConfigError(
                "background must be a number or None; NaN is always treated as missing"
            )
        if int(self.block_size) != self.block_size or self.block_size < 1:
            raise ConfigError(f"block_size must be a positive integer, got {self.block_size!r}")
        if self.layout not in LAYOUTS:
            raise ConfigError(f"layout must be one of {LAYOUTS}, got {self.layout!r}")
        if self.min_coarse_change is not None and not self.min_coarse_change >= 0:
            raise ConfigError(f"min_coarse_change must be >= 0, got {self.min_coarse_change!r}")
        if not 0 < self.significance < 1:
            raise ConfigError(f"significance must lie in (0, 1), got {self.significance!r}")
        if not self.max_conversion > 0:
            raise ConfigError(f"max_conversion must be > 0, got {self.max_conversion!r}")
        if int(self.min_candidates) != self.min_candidates or self.min_candidates < 0:
            raise ConfigError(
                f"min_candidates must be an integer >= 0, got {self.min_candidates!r}"
            )
        if int(self.cell_capacity) != self.cell_capacity or self.cell_capacity < 1:
            raise ConfigError(
                f"cell_capacity must be a positive integer, got {self.cell_capacity!r}"
            )

    @property
    def coarse_change_threshold(self) -> float:
        """The smallest coarse change for which V is fitted."""
        if self.min_coarse_change is not None:
            return float(self.min_coarse_change)
        return 0.02 * float(self.valid_range[1])

    @classmethod
    def ndvi(cls, **overrides: object) -> EstarfmParams:
        """Settings for fusing NDVI: valid range [-1, 1], NaN marks missing pixels."""
        base = cls(valid_range=(-1.0, 1.0), background=None)
        return replace(base, **overrides)  # type: ignore[arg-type]
