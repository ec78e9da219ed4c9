"""Settings of the quality stage's library: scoring, base pairs and the learned scorer.

Pydantic models (types, ranges, defaults and descriptions written once here):
:class:`ScoringSettings` (what :func:`~agrifactory.quality.scores.score_stack`
uses: :class:`CropCalendar`, :class:`SpectralTests`, :class:`ScoreWeights`, the
saturation bands), :class:`PairSettings` (base-pair selection) and
:class:`ScorerSettings` (the learned scorer). The workflow's config section
``quality`` is :class:`agrifactory.quality.rules.QualitySettings`, which builds on
them. A bad value is refused when a model is built; ``Model.build(mapping, key)``
turns it into a short :class:`~agrifactory.errors.ConfigError` naming the key.
"""

from __future__ import annotations

from typing import Annotated

import numpy as np
from pydantic import Field, model_validator

from agrifactory.settings import Settings

_YEAR_DAYS = 365

DayOfYear = Annotated[int, Field(ge=1, le=366)]
Fraction = Annotated[float, Field(ge=0, le=1)]


class CropCalendar(Settings):
    """Crop calendar for the season weight (day of year): a trapezoid over the year.

    The weight is off_season_weight outside [start_doy, end_doy], rises linearly to 1
    at peak_start_doy, stays 1 until peak_end_doy and falls linearly back to
    off_season_weight at end_doy. Windows may wrap the new year (winter wheat:
    start 280, peak 60-130, end 170); the four days must then follow each other in
    that circular order.
    """

    start_doy: DayOfYear = 91
    """Season starts (weight rises from off_season_weight)."""

    peak_start_doy: DayOfYear = 152
    """Full weight from this day."""

    peak_end_doy: DayOfYear = 243
    """Full weight until this day."""

    end_doy: DayOfYear = 304
    """Season ends (weight back to off_season_weight)."""

    off_season_weight: Fraction = 0.5
    """Weight of scenes outside the season."""

    @model_validator(mode="after")
    def _days_in_order(self) -> CropCalendar:
        p1, p2, e = self._offsets()
        if not (p1 <= p2 <= e):
            raise ValueError(
                "the days must follow each other (start_doy <= peak_start_doy <= "
                "peak_end_doy <= end_doy, wrapping the year at most once); got start "
                f"{self.start_doy}, peak {self.peak_start_doy}-{self.peak_end_doy}, "
                f"end {self.end_doy}"
            )
        return self

    def _offset(self, doy: np.ndarray | int) -> np.ndarray:
        # DOY 366 of a leap year counts as 365: the calendar has a 365-day cycle.
        d = np.minimum(np.asarray(doy, dtype=np.int64), _YEAR_DAYS)
        return (d - self.start_doy) % _YEAR_DAYS

    def _offsets(self) -> tuple[int, int, int]:
        return (
            int(self._offset(self.peak_start_doy)),
            int(self._offset(self.peak_end_doy)),
            int(self._offset(self.end_doy)),
        )

    def weight(self, doy: np.ndarray | int) -> np.ndarray:
        """Season weight in ``[off_season_weight, 1]`` of each day of year."""
        o = self._offset(doy).astype(np.float64)
        p1, p2, e = self._offsets()
        off = self.off_season_weight
        rise = off + (1.0 - off) * o / p1 if p1 > 0 else np.ones_like(o)
        fall = 1.0 - (1.0 - off) * (o - p2) / (e - p2) if e > p2 else np.full_like(o, off)
        return np.where(o <= p1, rise, np.where(o <= p2, 1.0, np.where(o <= e, fall, off)))


class SpectralTests(Settings):
    """Spectral tests that catch what QA_PIXEL missed.

    Reflectances are surface reflectance (0..1); temperatures in kelvin.
    """

    bright_blue: Fraction = 0.2
    """Bright test: blue reflectance above this..."""

    bright_ndvi_max: Annotated[float, Field(ge=-1, le=1)] = 0.3
    """...and NDVI below this (clouds are bright and grey)."""

    cold_delta_k: Annotated[float, Field(ge=0, le=100)] = 12.0
    """Cold test: thermal this many kelvin below the scene's clear median..."""

    cold_min_blue: Fraction = 0.1
    """...and blue above this (cold and dark is water or terrain)."""

    haze_delta: Fraction = 0.03
    """Haze test - HOT above the clear pixels' median HOT by more than this."""

    water_nir_max: Fraction = 0.05
    """Pixels with NIR below this are water-like (no HOT there)."""

    hot_min_pixels: Annotated[int, Field(ge=10)] = 200
    """Fewest clear pixels to fit the HOT clear line (else no haze test)."""

    hot_max_samples: Annotated[int, Field(ge=10)] = 200_000
    """Most pixels sampled (evenly) for the clear-line fit."""

    @model_validator(mode="after")
    def _samples_hold_minimum(self) -> SpectralTests:
        if self.hot_max_samples < self.hot_min_pixels:
            raise ValueError(
                f"hot_max_samples ({self.hot_max_samples}) must be at least "
                f"hot_min_pixels ({self.hot_min_pixels})"
            )
        return self


Exponent = Annotated[float, Field(ge=0, le=10)]


class ScoreWeights(Settings):
    """Exponents and references of the score's factors (docs/quality.md).

    An exponent of 0 switches a factor off.
    """

    sharpness: Exponent = 0.5
    """Exponent of the sharpness factor."""

    noise: Exponent = 1.0
    """Exponent of the noise factor."""

    stripes: Exponent = 1.0
    """Exponent of the stripe factor."""

    learned: Exponent = 1.0
    """Exponent of the learned scorer's factor."""

    sharpness_ref: Annotated[float, Field(gt=0)] | None = None
    """Sharpness reference (variance of the NDVI Laplacian); null takes the
    sharpness_ref_percentile of the stack's scenes (or of the scenes within
    sharpness_window_days of each scene when that is set)."""

    sharpness_ref_percentile: Annotated[float, Field(ge=0, le=100)] = 90
    """Percentile used when sharpness_ref is null."""

    sharpness_window_days: DayOfYear | None = None
    """Take the reference from scenes within this many days (null - all; all scenes
    when fewer than 3 fall in the window). A window follows the season (bare winter
    fields have more contrast) but is fooled by a cloudy season: off by default."""

    noise_half: Annotated[float, Field(gt=0)] = 0.08
    """Noise level (NDVI) at which the noise factor is 0.5."""

    stripe_half: Annotated[float, Field(gt=0)] = 0.05
    """Striping level (NDVI) at which the stripe factor is 0.5."""

    min_texture_pixels: Annotated[int, Field(ge=9)] = 100
    """Fewest kept pixels for texture statistics (else the factors are 1, noted)."""


class ScoringSettings(Settings):
    """What the per-scene scoring uses (:func:`agrifactory.quality.scores.score_stack`)."""

    calendar: CropCalendar = CropCalendar()
    """Crop calendar for the season weight (day of year)."""

    tests: SpectralTests = SpectralTests()
    """Spectral tests that catch what QA_PIXEL missed."""

    weights: ScoreWeights = ScoreWeights()
    """Exponents and references of the score's factors (docs/quality.md)."""

    saturation_bands: Annotated[
        tuple[Annotated[int, Field(ge=1, le=11)], ...], Field(min_length=1)
    ] = (1, 2, 3, 4, 5, 6, 7)
    """Landsat band numbers whose QA_RADSAT bit marks a pixel saturated. 1-7 covers the
    reflective bands of TM/ETM+ and OLI (bit 8 of OLI is the panchromatic band, bit 9
    of ETM+ is 'dropped pixel', bit 11 of OLI terrain occlusion: not saturation)."""

    patch_min_valid: Fraction = 0.9
    """Least share of clear pixels for the learned scorer to score a patch."""


class PairSettings(Settings):
    """Base-pair selection for the fusion (see :mod:`agrifactory.quality.pairs`)."""

    min_quality: Fraction = 0.3
    """Scenes whose season-free quality is below this are never chosen (the season
    weight only ranks)."""

    tau_days: Annotated[float, Field(gt=0)] = 32
    """Time scale of the utility score x exp(-|gap| / tau_days)."""

    max_gap_days: Annotated[int, Field(ge=0, le=366)] = 96
    """Scenes farther than this from the target are never chosen."""

    modis_max_offset_days: Annotated[int, Field(ge=0, le=16)] = 0
    """A Landsat date pairs with a MODIS date at most this many days away (the workflow
    passes the Landsat dates whose 8-day composite exists)."""

    clear_max_cloud: Fraction = 0.2
    """Baseline 'nearest clear': QA cloud + shadow share at most this..."""

    clear_min_valid: Fraction = 0.5
    """...and valid share at least this."""


class ScorerSettings(Settings):
    """Architecture and training of the learned scorer (its seed is an argument of
    :func:`~agrifactory.quality.scorer.train_scorer`; the workflow passes the top-level seed)."""

    patch_size: Annotated[int, Field(ge=8)] = 32
    """Patch edge in pixels."""

    width: Annotated[int, Field(ge=4)] = 16
    """Channels of the first convolution."""

    epochs: Annotated[int, Field(ge=1)] = 8
    """Training epochs."""

    samples_per_epoch: Annotated[int, Field(ge=64)] = 4096
    """Degraded patches drawn per epoch."""

    batch_size: Annotated[int, Field(ge=2)] = 64
    """Mini-batch size."""

    learning_rate: Annotated[float, Field(gt=0)] = 2e-3
    """AdamW learning rate."""

    weight_decay: Annotated[float, Field(ge=0)] = 1e-4
    """AdamW weight decay."""

    holdout_fraction: Annotated[float, Field(gt=0, lt=1)] = 0.2
    """Share of clear patches held out for the metrics (never trained on)."""

    p_clean: Annotated[float, Field(ge=0, lt=1)] = 0.3
    """Share of training examples left undegraded."""
