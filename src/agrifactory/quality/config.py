"""Tunables of the quality stage, built and checked from the workflow config.

Each dataclass holds one group of settings with its defaults; :func:`quality_config`
and :func:`pair_config` build them from the ``quality:`` mapping of the config and
name any unknown or invalid key.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from agrifactory.errors import ConfigError

_YEAR_DAYS = 365


def _check_range(name: str, value: float, lo: float, hi: float) -> None:
    if isinstance(value, bool) or not isinstance(value, int | float | np.integer | np.floating):
        raise ConfigError(f"quality: {name} = {value!r} must be a number")
    if not (lo <= value <= hi):
        raise ConfigError(f"quality: {name} = {value!r} must lie in [{lo}, {hi}]")


@dataclass(frozen=True)
class CropCalendar:
    """Season suitability: a trapezoid weight over the day of year.

    The weight is ``off_season_weight`` outside ``[start_doy, end_doy]``, rises
    linearly to 1 at ``peak_start_doy``, stays 1 until ``peak_end_doy`` and falls
    linearly back to ``off_season_weight`` at ``end_doy``. Windows may wrap the new
    year (winter wheat: start 280, peak 60-130, end 170); the four days must then
    follow each other in that circular order.
    """

    start_doy: int = 91
    peak_start_doy: int = 152
    peak_end_doy: int = 243
    end_doy: int = 304
    off_season_weight: float = 0.5

    def __post_init__(self) -> None:
        for name in ("start_doy", "peak_start_doy", "peak_end_doy", "end_doy"):
            _check_range(f"calendar.{name}", getattr(self, name), 1, 366)
        _check_range("calendar.off_season_weight", self.off_season_weight, 0.0, 1.0)
        p1, p2, e = self._offsets()
        if not (p1 <= p2 <= e):
            raise ConfigError(
                "quality: calendar days must follow each other (start <= peak_start <= "
                f"peak_end <= end, wrapping the year at most once); got start {self.start_doy}, "
                f"peak {self.peak_start_doy}-{self.peak_end_doy}, end {self.end_doy}"
            )

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


@dataclass(frozen=True)
class SpectralTests:
    """Thresholds of the per-pixel tests that catch what ``QA_PIXEL`` missed.

    Reflectances are surface reflectance (0..1); temperatures in kelvin.
    """

    #: Bright: blue above this and NDVI below ``bright_ndvi_max`` (clouds are bright and grey).
    bright_blue: float = 0.2
    bright_ndvi_max: float = 0.3
    #: Cold: thermal this many kelvin below the median of the scene's clear pixels,
    #: and blue above ``cold_min_blue`` (cold and dark is water or terrain, not cloud).
    cold_delta_k: float = 12.0
    cold_min_blue: float = 0.1
    #: Haze: HOT above the median HOT of clear pixels by more than this (reflectance).
    haze_delta: float = 0.03
    #: Pixels with NIR below this (or QA water) are water-like: HOT is not defined there.
    water_nir_max: float = 0.05
    #: Fewest clear pixels to fit the clear line of HOT (else no haze test).
    hot_min_pixels: int = 200
    #: Most pixels sampled (evenly) for the clear-line fit.
    hot_max_samples: int = 200_000

    def __post_init__(self) -> None:
        _check_range("tests.bright_blue", self.bright_blue, 0.0, 1.0)
        _check_range("tests.bright_ndvi_max", self.bright_ndvi_max, -1.0, 1.0)
        _check_range("tests.cold_delta_k", self.cold_delta_k, 0.0, 100.0)
        _check_range("tests.cold_min_blue", self.cold_min_blue, 0.0, 1.0)
        _check_range("tests.haze_delta", self.haze_delta, 0.0, 1.0)
        _check_range("tests.water_nir_max", self.water_nir_max, 0.0, 1.0)
        if self.hot_min_pixels < 10 or self.hot_max_samples < self.hot_min_pixels:
            raise ConfigError(
                "quality: tests.hot_min_pixels must be >= 10 and <= tests.hot_max_samples"
            )


@dataclass(frozen=True)
class ScoreWeights:
    """Exponents and scales of the factors of the scene score (see ``docs/quality.md``).

    An exponent of 0 switches a factor off.
    """

    sharpness: float = 0.5
    noise: float = 1.0
    stripes: float = 1.0
    learned: float = 1.0
    #: Sharpness reference (variance of the NDVI Laplacian); ``None``: the
    #: ``sharpness_ref_percentile`` of the stack's scenes, or of the scenes within
    #: ``sharpness_window_days`` of each scene when that is set (all scenes when
    #: fewer than 3 fall in the window). A window follows the season (bare winter
    #: fields have more contrast) but is fooled by a cloudy season: off by default.
    sharpness_ref: float | None = None
    sharpness_ref_percentile: float = 90.0
    sharpness_window_days: int | None = None
    #: Noise level (NDVI units) at which the noise factor is 0.5.
    noise_half: float = 0.08
    #: Striping level (NDVI units) at which the stripe factor is 0.5.
    stripe_half: float = 0.05
    #: Fewest kept pixels for the texture statistics (else the factors are 1, noted).
    min_texture_pixels: int = 100

    def __post_init__(self) -> None:
        for name in ("sharpness", "noise", "stripes", "learned"):
            _check_range(f"weights.{name}", getattr(self, name), 0.0, 10.0)
        if self.sharpness_ref is not None and self.sharpness_ref <= 0:
            raise ConfigError("quality: weights.sharpness_ref must be > 0 or null")
        _check_range("weights.sharpness_ref_percentile", self.sharpness_ref_percentile, 0, 100)
        if self.sharpness_window_days is not None:
            _check_range("weights.sharpness_window_days", self.sharpness_window_days, 1, 366)
        if self.noise_half <= 0 or self.stripe_half <= 0:
            raise ConfigError("quality: weights.noise_half and weights.stripe_half must be > 0")
        if self.min_texture_pixels < 9:
            raise ConfigError("quality: weights.min_texture_pixels must be >= 9")


@dataclass(frozen=True)
class QualityConfig:
    """All settings of the per-scene scoring."""

    calendar: CropCalendar = field(default_factory=CropCalendar)
    tests: SpectralTests = field(default_factory=SpectralTests)
    weights: ScoreWeights = field(default_factory=ScoreWeights)
    #: Landsat band numbers whose ``QA_RADSAT`` bit marks a pixel saturated. 1-7
    #: covers the reflective bands of TM/ETM+ and OLI (bit 8 of OLI is the
    #: panchromatic band, bit 9 of ETM+ is "dropped pixel", bit 11 of OLI terrain
    #: occlusion: not saturation).
    saturation_bands: tuple[int, ...] = (1, 2, 3, 4, 5, 6, 7)
    #: Least share of clear pixels for the learned scorer to score a patch
    #: (pass to :func:`agrifactory.quality.scorer.scene_scorer`).
    patch_min_valid: float = 0.9

    def __post_init__(self) -> None:
        if not self.saturation_bands or any(not 1 <= b <= 16 for b in self.saturation_bands):
            raise ConfigError("quality: saturation_bands must be Landsat band numbers 1..16")
        _check_range("patch_min_valid", self.patch_min_valid, 0.0, 1.0)


@dataclass(frozen=True)
class PairConfig:
    """Settings of the base-pair selection (see :mod:`agrifactory.quality.pairs`)."""

    #: Scenes whose season-free quality is below this are never chosen.
    min_quality: float = 0.3
    #: Time-distance scale of the utility ``score * exp(-|gap| / tau_days)``.
    tau_days: float = 32.0
    #: Scenes farther than this from the target are never chosen.
    max_gap_days: int = 96
    #: A Landsat date pairs with a MODIS date at most this many days away (0: same day).
    modis_max_offset_days: int = 0
    #: Baseline "nearest clear": QA cloud + shadow share at most this, valid share at least.
    clear_max_cloud: float = 0.2
    clear_min_valid: float = 0.5

    def __post_init__(self) -> None:
        _check_range("pairs.min_quality", self.min_quality, 0.0, 1.0)
        if self.tau_days <= 0:
            raise ConfigError(f"quality: pairs.tau_days = {self.tau_days} must be > 0")
        _check_range("pairs.max_gap_days", self.max_gap_days, 0, 366)
        _check_range("pairs.modis_max_offset_days", self.modis_max_offset_days, 0, 16)
        _check_range("pairs.clear_max_cloud", self.clear_max_cloud, 0.0, 1.0)
        _check_range("pairs.clear_min_valid", self.clear_min_valid, 0.0, 1.0)


def build_config(cls: type, mapping: Mapping[str, Any] | None, where: str) -> Any:
    """Instantiate dataclass ``cls`` from ``mapping`` (``where`` names it in errors).

    Nested dataclass fields are built recursively, lists become tuples, and an
    unknown key is a :class:`ConfigError` that lists the known ones.
    """
    if mapping is None:
        return cls()
    if not isinstance(mapping, Mapping):
        raise ConfigError(f"{where} must be a mapping, got {type(mapping).__name__}")
    fields = {f.name: f for f in dataclasses.fields(cls)}
    unknown = sorted(set(mapping) - set(fields))
    if unknown:
        raise ConfigError(f"{where}: unknown key(s) {unknown}; known: {sorted(fields)}")
    kwargs: dict[str, Any] = {}
    for name, value in mapping.items():
        default = fields[name].default_factory  # type: ignore[misc]
        if default is not dataclasses.MISSING and dataclasses.is_dataclass(default):
            kwargs[name] = build_config(default, value, f"{where}.{name}")
        elif isinstance(value, list):
            kwargs[name] = tuple(value)
        else:
            kwargs[name] = value
    try:
        return cls(**kwargs)
    except TypeError as exc:
        raise ConfigError(f"{where}: {exc}") from None


#: Sub-sections of the ``quality:`` config that other builders read.
OTHER_SECTIONS = ("pairs", "scorer")


def quality_config(mapping: Mapping[str, Any] | None = None) -> QualityConfig:
    """Build :class:`QualityConfig` from the ``quality:`` mapping.

    Keys ``calendar``, ``tests``, ``weights``, ``saturation_bands``,
    ``patch_min_valid``; the ``pairs`` and ``scorer`` sub-sections are left to
    :func:`pair_config` and :func:`agrifactory.quality.scorer.scorer_config`.
    """
    if isinstance(mapping, Mapping):
        mapping = {k: v for k, v in mapping.items() if k not in OTHER_SECTIONS}
    return build_config(QualityConfig, mapping, "quality")


def pair_config(mapping: Mapping[str, Any] | None = None) -> PairConfig:
    """Build :class:`PairConfig` from the ``quality.pairs`` mapping."""
    return build_config(PairConfig, mapping, "quality.pairs")
