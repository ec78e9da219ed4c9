"""Per-scene quality scores and the per-pixel quality mask of one tile and year.

The scene score (``docs/quality.md`` has the reasoning)::

    quality = clear_fraction * sharpness_factor * noise_factor * stripe_factor * learned_factor
    score   = season_weight * quality

``clear_fraction`` is the share of the tile's pixels whose mask is 0 (so a fully
filled scene scores exactly 0), and each factor lies in [0, 1]:

- ``sharpness_factor = min(1, S / S_ref) ** w_sharpness`` with ``S`` the variance of
  the NDVI Laplacian over clear pixels and ``S_ref`` a configured value or a
  percentile of the stack's scenes (noise and stripes raise ``S``; the cap at 1
  keeps them from earning a bonus, and their own factors charge for them);
- ``noise_factor = (1 / (1 + (noise_sigma / noise_half)**2)) ** w_noise``;
- ``stripe_factor = (1 / (1 + (stripe_level / stripe_half)**2)) ** w_stripes``;
- ``learned_factor = learned_score ** w_learned`` (1 without a learned scorer);
- ``season_weight`` from the crop calendar.

A factor whose statistic is undefined (too few clear pixels) is 1 and the row's
``notes`` say so.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from agrifactory.backend import to_numpy
from agrifactory.errors import GridError, InputError
from agrifactory.io.raster import band_dates, read_raster, write_raster
from agrifactory.io.tables import read_table, write_table
from agrifactory.quality import masks
from agrifactory.quality.config import ScoringSettings
from agrifactory.quality.texture import laplacian_variance, noise_sigma, stripe_level

log = logging.getLogger(__name__)

#: A learned scene scorer: ``(ndvi, keep) -> (score in [0, 1] or NaN, patches scored)``.
SceneScorer = Callable[[np.ndarray, np.ndarray], tuple[float, int]]

#: Columns of the scores table, in order.
COLUMNS = [
    "date",
    "doy",
    "qa_source",
    "valid_fraction",
    "fill_fraction",
    "qa_cloud_fraction",
    "qa_shadow_fraction",
    "qa_snow_fraction",
    "qa_cloud_cover",
    "bright_fraction",
    "cold_fraction",
    "haze_fraction",
    "saturated_fraction",
    "clear_fraction",
    "sharpness",
    "noise_sigma",
    "stripe_level",
    "sharpness_factor",
    "noise_factor",
    "stripe_factor",
    "learned_score",
    "learned_patches",
    "learned_factor",
    "season_weight",
    "quality",
    "score",
    "notes",
]

QA_AND_SPECTRAL = "QA_PIXEL + spectral tests"
SPECTRAL_ONLY = "spectral tests only (no QA_PIXEL)"
NDVI_ONLY = "NDVI texture only (no QA_PIXEL, no blue band)"


@dataclass
class SceneStack:
    """The scenes of one tile and year on one grid, each array (scenes, rows, cols).

    Give ``red`` and ``nir`` (NDVI is computed) or ``ndvi`` directly (e.g. for
    Sentinel-2 NDVI). ``has_qa`` says which scenes have a real ``QA_PIXEL`` band
    (default: all, when ``qa_pixel`` is given); ``valid`` is an optional extra data
    mask (True = data). Reflectances are 0..1 with NaN at fill, thermal in kelvin.
    """

    dates: list[dt.date]
    blue: np.ndarray | None = None
    red: np.ndarray | None = None
    nir: np.ndarray | None = None
    ndvi: np.ndarray | None = None
    thermal: np.ndarray | None = None
    qa_pixel: np.ndarray | None = None
    qa_radsat: np.ndarray | None = None
    has_qa: np.ndarray | None = None
    valid: np.ndarray | None = None
    transform: Any = None
    crs: Any = None
    sources: dict[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        names = ("blue", "red", "nir", "ndvi", "thermal", "qa_pixel", "qa_radsat", "valid")
        for name in names:
            value = getattr(self, name)
            if value is not None:
                setattr(self, name, to_numpy(value))
        n = len(self.dates)
        if (self.red is None) != (self.nir is None):
            raise InputError(self._source("red"), "red and nir must be given together")
        if self.red is None and self.ndvi is None:
            raise InputError("scene stack", "needs red and nir bands, or an NDVI stack")
        shape = None
        for name in names:
            arr = getattr(self, name)
            if arr is None:
                continue
            if arr.ndim != 3 or arr.shape[0] != n:
                raise InputError(
                    self._source(name),
                    f"{name} has shape {arr.shape}; expected ({n} scenes, rows, cols)",
                    "every stack must hold one band per scene date",
                )
            if shape is not None and arr.shape != shape:
                raise GridError(
                    f"{self._source(name)}: {name} has shape {arr.shape}, other bands {shape}; "
                    "all stacks of a tile must share its grid"
                )
            shape = arr.shape
        if self.has_qa is None:
            self.has_qa = np.full(n, self.qa_pixel is not None)
        self.has_qa = np.asarray(self.has_qa, dtype=bool)
        if self.has_qa.shape != (n,):
            raise InputError(
                "scene stack", f"has_qa has shape {self.has_qa.shape}, expected ({n},)"
            )
        if self.has_qa.any() and self.qa_pixel is None:
            raise InputError("scene stack", "has_qa marks scenes with QA but qa_pixel is missing")

    def _source(self, name: str) -> str:
        return self.sources.get(name, name)

    @property
    def shape(self) -> tuple[int, int, int]:
        """(scenes, rows, cols)."""
        arr = self.red if self.red is not None else self.ndvi
        assert arr is not None
        return arr.shape

    def ndvi_stack(self) -> np.ndarray:
        """NDVI of every scene (float32, NaN where undefined)."""
        if self.ndvi is not None:
            return np.asarray(self.ndvi, dtype=np.float32)
        return masks.ndvi(self.red, self.nir)

    @classmethod
    def from_files(
        cls,
        *,
        red: str | Path,
        nir: str | Path,
        blue: str | Path | None = None,
        thermal: str | Path | None = None,
        qa_pixel: str | Path | None = None,
        qa_radsat: str | Path | None = None,
    ) -> SceneStack:
        """Read the stacks of one tile and year (COGs, one band per date, bands named by date).

        Reflectance stacks must share their dates. ``thermal``, ``qa_pixel`` and
        ``qa_radsat`` are matched by date: a scene missing from them gets NaN
        thermal, ``has_qa = False`` or no saturation test, and its row says so.
        """
        paths = {"red": red, "nir": nir, "blue": blue}
        arrays: dict[str, np.ndarray] = {}
        dates: list[dt.date] | None = None
        meta0: dict[str, Any] | None = None
        for name, path in paths.items():
            if path is None:
                continue
            data, meta = read_raster(path)
            d = band_dates(meta["descriptions"], path)
            if dates is None:
                dates, meta0 = d, meta
            elif d != dates:
                raise InputError(
                    path,
                    f"{name} dates {[str(x) for x in d]} differ from red's {[str(x) for x in dates]}",
                    "all reflectance stacks of a tile and year must hold the same scenes",
                )
            _check_same_grid(meta, meta0, path)
            arrays[name] = data
        assert dates is not None and meta0 is not None
        shape = arrays["red"].shape
        sources = {
            k: str(v)
            for k, v in {
                **paths,
                "thermal": thermal,
                "qa_pixel": qa_pixel,
                "qa_radsat": qa_radsat,
            }.items()
            if v is not None
        }
        thermal_arr = None
        if thermal is not None:
            thermal_arr, _ = _read_by_date(thermal, dates, shape, meta0, np.float32, np.nan)
        qa_arr, has_qa = None, None
        if qa_pixel is not None:
            qa_arr, has_qa = _read_by_date(qa_pixel, dates, shape, meta0, np.uint16, 1)
        radsat_arr = None
        if qa_radsat is not None:
            radsat_arr, has_radsat = _read_by_date(qa_radsat, dates, shape, meta0, np.uint16, 0)
            for i in np.flatnonzero(~has_radsat):
                log.warning("%s: no QA_RADSAT band for %s; no saturation test", qa_radsat, dates[i])
        return cls(
            dates=dates,
            blue=arrays.get("blue"),
            red=arrays["red"],
            nir=arrays["nir"],
            thermal=thermal_arr,
            qa_pixel=qa_arr,
            qa_radsat=radsat_arr,
            has_qa=has_qa if has_qa is not None else np.zeros(len(dates), bool),
            transform=meta0["transform"],
            crs=meta0["crs"],
            sources=sources,
        )


def _check_same_grid(meta: dict[str, Any], ref: dict[str, Any] | None, path: str | Path) -> None:
    if ref is None or meta is ref:
        return
    if meta["crs"] != ref["crs"] or not meta["transform"].almost_equals(ref["transform"]):
        raise GridError(
            f"{path}: grid (CRS {meta['crs']}, transform {tuple(meta['transform'])[:6]}) differs "
            f"from the red stack's ({ref['crs']}, {tuple(ref['transform'])[:6]}); warp all "
            "stacks of a tile onto its grid"
        )


def _read_by_date(
    path: str | Path,
    dates: list[dt.date],
    shape: tuple[int, int, int],
    ref_meta: dict[str, Any],
    dtype: type,
    missing: float | int,
) -> tuple[np.ndarray, np.ndarray]:
    """Read a stack and place its bands at ``dates``; returns the array and which dates it had."""
    integer = np.issubdtype(np.dtype(dtype), np.integer)
    data, meta = read_raster(path, masked_to_nan=not integer)
    _check_same_grid(meta, ref_meta, path)
    if integer and np.dtype(meta["dtype"]) != np.dtype(dtype):
        raise InputError(
            path,
            f"has data type {meta['dtype']}; expected {np.dtype(dtype).name}",
            "QA bands are unsigned 16-bit integers as distributed by USGS",
        )
    if data.shape[1:] != shape[1:]:
        raise GridError(f"{path}: raster size {data.shape[1:]} differs from {shape[1:]}")
    own = band_dates(meta["descriptions"], path)
    index = {d: i for i, d in enumerate(dates)}
    extra = [str(d) for d in own if d not in index]
    if extra:
        raise InputError(
            path,
            f"has dates {extra} that the reflectance stacks lack",
            "give the stacks of the same scenes",
        )
    out = np.full(shape, missing, dtype=dtype)
    present = np.zeros(len(dates), dtype=bool)
    for j, d in enumerate(own):
        out[index[d]] = data[j]
        present[index[d]] = True
    return out, present


@dataclass
class ScoreResult:
    """What :func:`score_stack` returns: the table, the mask stack and the HOT clear line."""

    table: pd.DataFrame
    mask: np.ndarray
    clear_line: masks.ClearLine | None


def _stack_clear_line(
    stack: SceneStack, base: np.ndarray, water: np.ndarray, cfg: ScoringSettings
) -> masks.ClearLine | None:
    """Fit HOT's clear line on evenly sampled clear, non-water pixels of each scene."""
    assert stack.blue is not None and stack.red is not None
    n = len(stack.dates)
    per_scene = max(cfg.tests.hot_min_pixels, cfg.tests.hot_max_samples // n)
    samples = []
    for i in range(n):
        idx = np.flatnonzero(((base[i] == 0) & ~water[i]).ravel())
        idx = idx[:: max(1, idx.size // per_scene)]
        samples.append((stack.blue[i].ravel()[idx], stack.red[i].ravel()[idx]))
    return masks.stack_clear_line(samples, cfg.tests)


def _cold_references(
    stack: SceneStack, base: np.ndarray, cfg: ScoringSettings
) -> tuple[np.ndarray, float]:
    """Median thermal of each scene's clear pixels (NaN when too few) and of all scenes pooled."""
    assert stack.thermal is not None
    n = len(stack.dates)
    refs = np.full(n, np.nan)
    clear = (base == 0) & np.isfinite(stack.thermal)
    for i in range(n):
        if clear[i].sum() >= cfg.tests.hot_min_pixels:
            refs[i] = float(np.median(stack.thermal[i][clear[i]]))
    pooled = float(np.median(stack.thermal[clear])) if clear.sum() else float("nan")
    return refs, pooled


def _sharpness_references(
    values: np.ndarray, dates: list[dt.date], cfg: ScoringSettings
) -> np.ndarray:
    """The sharpness reference of each scene: configured, or a percentile of its season."""
    w = cfg.weights
    if w.sharpness_ref is not None:
        return np.full(len(dates), float(w.sharpness_ref))
    ordinals = np.array([d.toordinal() for d in dates])
    finite = np.isfinite(values)
    refs = np.full(len(dates), np.nan)
    if not finite.any():
        return refs
    overall = float(np.percentile(values[finite], w.sharpness_ref_percentile))
    if w.sharpness_window_days is None:
        return np.full(len(dates), overall)
    for i, day in enumerate(ordinals):
        near = finite & (np.abs(ordinals - day) <= w.sharpness_window_days)
        refs[i] = (
            float(np.percentile(values[near], w.sharpness_ref_percentile))
            if near.sum() >= 3
            else overall
        )
    return refs


def _half_factor(value: float, half: float, exponent: float) -> float:
    return float((1.0 / (1.0 + (value / half) ** 2)) ** exponent)


def _qa_base(
    stack: SceneStack, ndvi_all: np.ndarray, cfg: ScoringSettings
) -> tuple[np.ndarray, np.ndarray]:
    """QA classes and fill (mask bits 0-3) of every scene, and its water-like pixels."""
    n, rows, cols = stack.shape
    base = np.zeros((n, rows, cols), dtype=np.uint8)
    fill = ~np.isfinite(ndvi_all)
    for band in (stack.blue, stack.red, stack.nir):
        if band is not None:
            fill |= ~np.isfinite(band)
    if stack.valid is not None:
        fill |= ~stack.valid.astype(bool)
    water = np.zeros((n, rows, cols), dtype=bool)
    for i in np.flatnonzero(stack.has_qa):
        base[i] = masks.qa_classes(stack.qa_pixel[i])
        water[i] = masks.qa_water(stack.qa_pixel[i])
    base[fill] = masks.FILL
    if stack.nir is not None:
        with np.errstate(invalid="ignore"):
            water |= stack.nir < cfg.tests.water_nir_max
    return base, water


def _quality_mask(
    stack: SceneStack, ndvi_all: np.ndarray, cfg: ScoringSettings
) -> tuple[np.ndarray, masks.ClearLine | None, bool]:
    """The mask stack, the HOT clear line and whether the cold test ran."""
    n = stack.shape[0]
    base, water = _qa_base(stack, ndvi_all, cfg)

    # Spectral tests (bits 4-6) and saturation (bit 7).
    if stack.blue is not None:
        for i in range(n):
            bright = masks.bright_test(stack.blue[i], ndvi_all[i], cfg.tests)
            base[i][bright & (base[i] != masks.FILL)] |= masks.BRIGHT
    line = None
    if stack.blue is not None and stack.red is not None:
        line = _stack_clear_line(stack, base, water, cfg)
    cold_refs, cold_pooled = None, float("nan")
    if stack.thermal is not None and stack.blue is not None:
        cold_refs, cold_pooled = _cold_references(stack, base, cfg)
    mask = base.copy()
    for i in range(n):
        notfill = mask[i] != masks.FILL
        if cold_refs is not None:
            ref = cold_refs[i] if np.isfinite(cold_refs[i]) else cold_pooled
            cold = masks.cold_test(stack.thermal[i], stack.blue[i], ref, cfg.tests)
            mask[i][cold & notfill] |= masks.COLD
        if line is not None:
            haze = masks.haze_test(stack.blue[i], stack.red[i], line, cfg.tests)
            mask[i][haze & ~water[i] & notfill] |= masks.HAZE
        if stack.qa_radsat is not None:
            sat = masks.saturation_test(stack.qa_radsat[i], cfg.saturation_bands)
            mask[i][sat & notfill] |= masks.SATURATED
    return mask, line, cold_refs is not None


def _texture_stats(
    ndvi_all: np.ndarray, mask: np.ndarray, cfg: ScoringSettings
) -> list[tuple[float, float, float]]:
    """(Laplacian variance, noise sigma, stripe level) of each scene's clear pixels."""
    out = []
    for i in range(len(mask)):
        keep = mask[i] == 0
        lap, n_lap = laplacian_variance(ndvi_all[i], keep)
        sigma, n_sigma = noise_sigma(ndvi_all[i], keep)
        stripes, _ = stripe_level(ndvi_all[i], keep)
        if min(n_lap, 4 * n_sigma) < cfg.weights.min_texture_pixels:
            out.append((float("nan"), float("nan"), float("nan")))
        else:
            out.append((lap, sigma, stripes))
    return out


def _texture_factors(
    stats: tuple[float, float, float], sharp_ref: float, cfg: ScoringSettings, notes: list[str]
) -> tuple[float, float, float]:
    """Sharpness, noise and stripe factors; 1 (with a note) where a statistic is undefined."""
    sharp, sigma, stripes = stats
    w = cfg.weights
    if not (np.isfinite(sharp) and np.isfinite(sharp_ref) and sharp_ref > 0):
        notes.append("too few clear pixels for sharpness/noise/stripes: factors set to 1")
        return 1.0, 1.0, 1.0
    sharp_f = float(min(1.0, sharp / sharp_ref) ** w.sharpness)
    noise_f = _half_factor(sigma, w.noise_half, w.noise)
    if not np.isfinite(stripes):
        notes.append("too few half-clear lines for the stripe level: factor set to 1")
        return sharp_f, noise_f, 1.0
    return sharp_f, noise_f, _half_factor(stripes, w.stripe_half, w.stripes)


def _source_notes(stack: SceneStack, i: int, line_fitted: bool) -> tuple[str, list[str]]:
    """The ``qa_source`` of scene ``i`` and the notes on tests that could not run."""
    notes: list[str] = []
    has_qa = bool(stack.has_qa[i])
    if has_qa:
        source = QA_AND_SPECTRAL
    elif stack.blue is not None:
        source = SPECTRAL_ONLY
    else:
        source = NDVI_ONLY
    if not has_qa and stack.qa_pixel is not None:
        notes.append("no QA_PIXEL for this scene: scored from spectral tests only")
    if stack.blue is None:
        notes.append("no blue band: bright and haze tests skipped")
    elif not line_fitted:
        notes.append("haze test skipped: too few clear pixels to fit the HOT clear line")
    if stack.thermal is None or stack.blue is None:
        notes.append("no thermal band: cold test skipped")
    elif not np.isfinite(stack.thermal[i]).any():
        notes.append("no thermal data for this scene: cold test skipped")
    if stack.qa_radsat is None:
        notes.append("no QA_RADSAT: saturation not tested")
    return source, notes


def _fractions(m: np.ndarray, tested: dict[str, bool]) -> dict[str, float]:
    """Shares of the valid pixels of one scene's mask that carry each flag (NaN: not tested)."""
    valid = m != masks.FILL
    n_valid = int(valid.sum())
    flags = {
        "qa_cloud_fraction": ("qa", masks.QA_CLOUD),
        "qa_shadow_fraction": ("qa", masks.QA_SHADOW),
        "qa_snow_fraction": ("qa", masks.QA_SNOW),
        "qa_cloud_cover": ("qa", masks.QA_CLOUD | masks.QA_SHADOW),
        "bright_fraction": ("bright", masks.BRIGHT),
        "cold_fraction": ("cold", masks.COLD),
        "haze_fraction": ("haze", masks.HAZE),
        "saturated_fraction": ("saturated", masks.SATURATED),
    }
    out = {}
    for name, (test, bits) in flags.items():
        ok = tested[test] and n_valid > 0
        out[name] = float(((m & bits) > 0)[valid].sum() / n_valid) if ok else float("nan")
    return out


def score_stack(
    stack: SceneStack,
    config: ScoringSettings | None = None,
    scorer: SceneScorer | None = None,
) -> ScoreResult:
    """Score every scene of a stack and build its per-pixel quality mask.

    Parameters
    ----------
    stack
        The scenes of one tile and year.
    config
        Thresholds, calendar and exponents; defaults when None.
    scorer
        Optional learned scorer (see :func:`agrifactory.quality.scorer.scene_scorer`),
        called on each scene's NDVI and clear pixels.

    Returns
    -------
    ScoreResult
        ``table`` with :data:`COLUMNS` (one row per scene, in stack order), ``mask``
        (uint8, scenes x rows x cols, bits in :mod:`agrifactory.quality.masks`) and
        the HOT clear line (None when it could not be fitted).
    """
    cfg = config or ScoringSettings()
    n = stack.shape[0]
    ndvi_all = stack.ndvi_stack()
    mask, line, cold_tested = _quality_mask(stack, ndvi_all, cfg)
    texture = _texture_stats(ndvi_all, mask, cfg)
    sharp_refs = _sharpness_references(np.array([t[0] for t in texture]), stack.dates, cfg)
    doys = np.array([d.timetuple().tm_yday for d in stack.dates])
    season = cfg.calendar.weight(doys)
    tested = {
        "bright": stack.blue is not None,
        "cold": cold_tested,
        "haze": line is not None,
        "saturated": stack.qa_radsat is not None,
    }
    records = []
    for i in range(n):
        scene = _SceneInputs(ndvi_all[i], mask[i], texture[i], sharp_refs[i], int(doys[i]))
        records.append(
            _scene_record(stack, i, scene, float(season[i]), tested, line is not None, scorer, cfg)
        )
        log.info(
            "scene %s (%d/%d): clear %.3f, score %.3f",
            stack.dates[i],
            i + 1,
            n,
            records[-1]["clear_fraction"],
            records[-1]["score"],
        )
    table = pd.DataFrame.from_records(records, columns=COLUMNS)
    return ScoreResult(table=table, mask=mask, clear_line=line)


@dataclass
class _SceneInputs:
    """What one scene's row is computed from."""

    ndvi: np.ndarray
    mask: np.ndarray
    texture: tuple[float, float, float]
    sharp_ref: float
    doy: int


def _scene_record(
    stack: SceneStack,
    i: int,
    scene: _SceneInputs,
    season: float,
    tested: dict[str, bool],
    has_line: bool,
    scorer: SceneScorer | None,
    cfg: ScoringSettings,
) -> dict[str, Any]:
    """The scores-table row of scene ``i``."""
    m = scene.mask
    n_pix = m.size
    source, notes = _source_notes(stack, i, has_line)
    n_valid = int((m != masks.FILL).sum())
    if n_valid == 0:
        notes.append("fully filled: no valid pixel")
    tested = {"qa": bool(stack.has_qa[i]), **tested}
    texture = scene.texture
    factors = _texture_factors(texture, scene.sharp_ref, cfg, notes) if n_valid else (1.0,) * 3
    learned, n_patches = float("nan"), 0
    if scorer is not None and n_valid:
        learned, n_patches = scorer(scene.ndvi, m == 0)
    if scorer is None:
        notes.append("no learned scorer")
    elif not np.isfinite(learned):
        notes.append("learned scorer: no patch clear enough to score")
    learned_f = float(learned**cfg.weights.learned) if np.isfinite(learned) else 1.0
    clear = float((m == 0).sum() / n_pix)
    quality = clear * factors[0] * factors[1] * factors[2] * learned_f
    return {
        "date": stack.dates[i],
        "doy": scene.doy,
        "qa_source": source,
        "valid_fraction": n_valid / n_pix,
        "fill_fraction": 1.0 - n_valid / n_pix,
        **_fractions(m, tested),
        "clear_fraction": clear,
        "sharpness": texture[0],
        "noise_sigma": texture[1],
        "stripe_level": texture[2],
        "sharpness_factor": factors[0],
        "noise_factor": factors[1],
        "stripe_factor": factors[2],
        "learned_score": learned,
        "learned_patches": n_patches,
        "learned_factor": learned_f,
        "season_weight": season,
        "quality": quality,
        "score": season * quality,
        "notes": "; ".join(notes),
    }


def write_scores_table(table: pd.DataFrame, path: str | Path) -> Path:
    """Write the scores table as Parquet (``.parquet``) or CSV (``.csv``), atomically."""
    out = table.copy()
    out["date"] = pd.to_datetime(out["date"]).dt.strftime("%Y-%m-%d")
    return write_table(out, path)


def read_scores_table(path: str | Path) -> pd.DataFrame:
    """Read a scores table written by :func:`write_scores_table`; dates become ``datetime.date``."""
    table = read_table(path, "scores table", "rerun the quality rule for this tile and year")
    missing = [c for c in ("date", "score", "qa_cloud_cover", "valid_fraction") if c not in table]
    if missing:
        raise InputError(path, f"lacks column(s) {missing}", "rerun the quality rule")
    table["date"] = pd.to_datetime(table["date"]).dt.date
    return table


def write_quality_mask(
    path: str | Path, mask: np.ndarray, dates: Sequence[dt.date], *, transform: Any, crs: Any
) -> Path:
    """Write the per-pixel quality mask stack (uint8 bits, one band per date) as a COG."""
    bits = ", ".join(f"{v}={k}" for k, v in masks.BIT_NAMES.items())
    return write_raster(
        path,
        np.asarray(mask, dtype=np.uint8),
        transform=transform,
        crs=crs,
        nodata=None,
        band_names=[d.isoformat() for d in dates],
        units="bit flags",
        tags={"quality_mask_bits": bits, "clear_value": 0},
    )
