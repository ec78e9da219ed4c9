"""ESTARFM parameters, block layouts and per-pixel QA flags.

:class:`EstarfmFields` declares, once, the algorithm parameters that the workflow's
``fusion`` section sets (types, ranges, the authors' defaults and descriptions);
:class:`EstarfmParams` adds the ones that depend on the data (valid range,
background, cell capacity), and :class:`agrifactory.fusion.rules.FusionSettings`
adds the workflow's keys. Both are pydantic models: a bad value is refused when
the object is built.
"""

from __future__ import annotations

import math
from typing import Annotated, Any, Literal, get_args

from pydantic import Field, field_validator

from agrifactory.settings import KeepInt, Settings

Layout = Literal["reference", "halo"]
LAYOUTS: tuple[str, ...] = get_args(Layout)

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

#: QA flag (fusion stage): the pixel is missing in one base of a two-pair target, so it was
#: predicted by single-pair ESTARFM from the other base (that base used as both pairs).
QA_SINGLE_PAIR = 4
#: QA flag (fusion stage): linear interpolation in time between the pixel's nearest
#: predicted values (flags 1-4) before and after the date.
QA_TEMPORAL_FILL = 5
#: QA flag (fusion stage): the date's coarse value through the pixel's Landsat-MODIS
#: linear regression over the year's clear observations.
QA_REGRESSION = 6
#: QA flag (fusion stage): a target without any base pair whose pixel nothing filled.
QA_NO_PAIR = 255

#: Default edge, in pixels, of the blocks a tile is fused in (config ``fusion.tile_block``).
DEFAULT_TILE_BLOCK = 1000


def tile_block_fits(tile_block: int | None, block_size: int, layout: str) -> bool:
    """Whether blocks of ``tile_block`` pixels hold whole ESTARFM blocks of ``layout``.

    Only the ``reference`` layout has fixed blocks (of ``block_size`` from the
    top-left corner); ``None`` (the whole tile in one block) always fits.
    """
    return tile_block is None or layout != "reference" or tile_block % block_size == 0


QA_NAMES: dict[int, str] = {
    QA_INVALID: "invalid",
    QA_WEIGHTED: "weighted",
    QA_OUT_OF_RANGE: "out_of_range_fallback",
    QA_TEMPORAL: "temporal_fallback",
}
#: The fusion stage's flags on top of ESTARFM's own (:data:`QA_NAMES`), in ``flags.tif``.
FILL_QA_NAMES: dict[int, str] = {
    QA_SINGLE_PAIR: "single_pair_fallback",
    QA_TEMPORAL_FILL: "temporal_fill",
    QA_REGRESSION: "regression_fill",
}
#: Every flag of ``flags.tif`` but ``QA_NO_PAIR``, by code.
STAGE_QA_NAMES: dict[int, str] = {**QA_NAMES, **FILL_QA_NAMES}
#: Flags of a pixel ESTARFM predicted (two pairs, or one pair as fallback): the sources
#: of the temporal fill.
QA_PREDICTED: tuple[int, ...] = (QA_WEIGHTED, QA_OUT_OF_RANGE, QA_TEMPORAL, QA_SINGLE_PAIR)


class EstarfmFields(Settings):
    """The ESTARFM parameters (Zhu et al. 2010) that the workflow's config sets.

    The defaults are the authors'. Shared by :class:`EstarfmParams` (the library)
    and :class:`agrifactory.fusion.rules.FusionSettings` (config section ``fusion``).
    """

    half_window: Annotated[int, Field(ge=1)] = 25
    """Half window w in fine pixels (the window is 2w+1 square)."""

    classes: Annotated[float, Field(gt=0), KeepInt] = 4
    """Number of classes; the similarity threshold is std x 2 / classes."""

    block_size: Annotated[int, Field(ge=1)] = 500
    """Processing block (reference layout) or statistics window (halo layout) in pixels."""

    layout: Layout = "halo"
    """'halo': no block seams (factory default); 'reference': the authors' non-overlapping
    blocks. 'reference': thresholds from each block of block_size from the top-left
    corner, windows and temporal means clipped at the block's border. 'halo':
    thresholds from the block_size square centred on each pixel and windows clipped
    only at the array's edge, so a result does not depend on how the image is cut
    into blocks or tiles."""

    min_coarse_change: Annotated[float, Field(ge=0)] | None = None
    """Least coarse change between the base dates to fit the conversion coefficient V
    (null - 0.02 x valid maximum)."""

    significance: Annotated[float, Field(gt=0, lt=1)] = 0.05
    """F-test significance for keeping V: a fitted V is kept when the F-test p-value is
    at most this (0 < significance < 1)."""

    max_conversion: Annotated[float, Field(gt=0)] = 5
    """V above this is replaced by 1 (V must also be > 0)."""

    min_candidates: Annotated[int, Field(ge=0)] = 5
    """With this many similar pixels or fewer, the temporal-only fallback is used (the
    weighted prediction needs more than this many; 5 in the reference code)."""


class EstarfmParams(EstarfmFields):
    """Settings of ESTARFM (Zhu et al. 2010); the defaults are the authors' (reflectance).

    Besides the fields of :class:`EstarfmFields`: ``valid_range``, ``background``
    and ``cell_capacity``. :meth:`ndvi` gives the settings for fusing NDVI.
    """

    valid_range: tuple[float, float] = (0.0, 10000.0)
    """(min, max) of a plausible value. A weighted prediction <= min or >= max is
    replaced by the out-of-range fallback, as in the reference code. Reflectance x
    10000: (0, 10000); NDVI: (-1, 1)."""

    background: float | None = -9999.0
    """Value that marks missing pixels besides NaN, or None for NaN only."""

    cell_capacity: Annotated[int, Field(ge=1)] = 128
    """Most distinct coarse cells kept per window by prepare(); a window with more is
    predicted by the exact per-pixel path instead."""

    @field_validator("valid_range")
    @classmethod
    def _finite_range(cls, value: tuple[float, float]) -> tuple[float, float]:
        lo, hi = value
        if not (math.isfinite(lo) and math.isfinite(hi) and lo < hi):
            raise ValueError(f"valid_range must be two finite numbers min < max, got {value!r}")
        return value

    @field_validator("background")
    @classmethod
    def _not_nan(cls, value: float | None) -> float | None:
        if value is not None and math.isnan(value):
            raise ValueError(
                "background must be a number or None; NaN is always treated as missing"
            )
        return value

    @property
    def coarse_change_threshold(self) -> float:
        """The smallest coarse change for which V is fitted."""
        if self.min_coarse_change is not None:
            return float(self.min_coarse_change)
        return 0.02 * float(self.valid_range[1])

    @classmethod
    def ndvi(cls, **overrides: Any) -> EstarfmParams:
        """Settings for fusing NDVI: valid range [-1, 1], NaN marks missing pixels."""
        return cls(**{"valid_range": (-1.0, 1.0), "background": None, **overrides})
