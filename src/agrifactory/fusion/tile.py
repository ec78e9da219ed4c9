"""The fusion stage on one tile-year: 46 8-day NDVI images from Landsat and MODIS stacks.

For every 8-day target date the base pairs come from the quality stage's pairs
table. Targets that share a pair set share one :func:`~agrifactory.fusion.prepare`
(candidates, weights and conversion coefficients), so each extra date costs only
a :func:`~agrifactory.fusion.predict`. A target with a pair on one side only is
fused from that single pair (the same scene as both bases: ESTARFM then reduces
to the fine image plus the weighted coarse change); a target with no pair is left
empty. Both cases are recorded in the QA table, and every pixel's path is in the
QA flag stack.

Held-out validation: for each clear Landsat date the quality stage held out, the
date is predicted from pairs chosen without it (by each pair selector) and
compared with the real scene, on every ``validation_stride``-th row and column of
the tile; a pair set only the validation uses is prepared only where it is compared.

Blocks: a tile is fused in square blocks of ``tile_block`` pixels, so memory does
not grow with the tile. Each block is read with the context its layout needs
(:func:`block_halo`); per block every pair set is prepared once, predicts all the
targets and held-out dates that use it, and is dropped before the next. The QA
fractions and the validation statistics are summed over the blocks. Results equal
those of the whole tile in one piece: exactly with the ``reference`` layout, to
float rounding with ``halo`` (``docs/scaling.md``, Memory).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import logging
import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from rasterio.windows import Window

from agrifactory.backend import resolve_backend, to_numpy
from agrifactory.errors import ConfigError, DataError, InputError
from agrifactory.fusion.estarfm import (
    EstarfmModel,
    coarse_cell_labels,
    predict,
    prepare,
)
from agrifactory.fusion.fill import (
    FillMethods,
    RegressionSums,
    fill_date,
    fill_series,
    predicted,
    temporal_at,
)
from agrifactory.fusion.metrics import SCATTER_BINS, scatter_counts, scatter_table
from agrifactory.fusion.params import (
    DEFAULT_TILE_BLOCK,
    QA_INVALID,
    QA_NO_PAIR,
    QA_SINGLE_PAIR,
    STAGE_QA_NAMES,
    EstarfmParams,
    tile_block_fits,
)
from agrifactory.fusion.rules import FillSettings
from agrifactory.fusion.statistics import as_bands, valid_mask
from agrifactory.grid import PixelGrid, known_crs
from agrifactory.io.modis import composite_containing, composite_starts
from agrifactory.io.pairs import read_pairs_table
from agrifactory.io.raster import (
    Block,
    StackReader,
    gdal_cache,
    grid_blocks,
    open_stack,
    stack_writer,
)
from agrifactory.io.tables import write_table

log = logging.getLogger(__name__)

#: How the QA and validation tables write floats.
FLOAT_FORMAT = "%.6f"

Pair = tuple[dt.date, dt.date]

#: Landsat images kept per block (a pair set's two bases, read by ESTARFM and the fallback).
FINE_CACHE = 4


def block_halo(params: EstarfmParams) -> int:
    """Pixels of context a block needs for the whole-tile result.

    ``halo`` layout: a pixel depends on its window (``half_window``) and on the
    ``block_size`` square centred on it (thresholds), so ``max(w, block_size // 2)``.
    ``reference`` layout: none, as long as blocks are aligned on ESTARFM's own
    blocks (see :func:`check_tile_block`).
    """
    if params.layout == "reference":
        return 0
    return max(params.half_window, params.block_size // 2)


def check_tile_block(tile_block: int | None, params: EstarfmParams) -> None:
    """Raise :class:`ConfigError` unless ``tile_block`` is usable with ``params``."""
    if tile_block is None:
        return
    if int(tile_block) != tile_block or tile_block < 1:
        raise ConfigError(f"fusion tile_block must be a positive integer, got {tile_block!r}")
    if not tile_block_fits(tile_block, params.block_size, params.layout):
        raise ConfigError(
            f"fusion tile_block {tile_block} is not a multiple of block_size "
            f"{params.block_size}: with layout 'reference' the tile's blocks must hold whole "
            "ESTARFM blocks (choose e.g. "
            f"{max(1, tile_block // params.block_size) * params.block_size})"
        )


def _pair_dates(row: pd.Series) -> Pair | None:
    """The two base dates of a pairs-table row; one date twice for a one-sided row."""
    d1, d2 = row["pair1_date"], row["pair2_date"]
    if d1 is None and d2 is None:
        return None
    return (d1 or d2, d2 or d1)


class _Stacks:
    """The tile-year's input stacks, read window by window."""

    def __init__(self, landsat: StackReader, modis: StackReader, mask: StackReader | None) -> None:
        if landsat.shape != modis.shape:
            raise InputError(
                modis.path, f"grid {modis.shape} differs from the Landsat stack's {landsat.shape}"
            )
        if mask is not None and (mask.dates != landsat.dates or mask.shape != landsat.shape):
            raise InputError(
                mask.path,
                "dates or grid differ from the Landsat NDVI stack",
                "rerun the quality rule",
            )
        self.landsat, self.modis, self.mask = landsat, modis, mask
        self.shape = landsat.shape
        self._block: Block | None = None
        self._modis: np.ndarray | None = None
        self._fine: dict[dt.date, np.ndarray] = {}

    def use_block(self, block: Block | None) -> None:
        """Read every MODIS composite of ``block`` once (:meth:`coarse` and :meth:`cells`
        then slice it) and keep the last few Landsat images read over it."""
        self._block, self._fine = block, {}
        self._modis = None if block is None else self.modis.read(block.read)
        if self._modis is not None:
            self._modis.flags.writeable = False

    def grid(self) -> PixelGrid:
        t = self.landsat.meta["transform"]
        crs = known_crs(self.landsat.meta["crs"])
        return PixelGrid(t.c, t.f, t.a, width=self.shape[1], height=self.shape[0], crs=crs)

    def require_fine(self, dates: set[dt.date], source: str | Path) -> None:
        for d in sorted(dates):
            if d not in self.landsat.dates:
                raise InputError(
                    source,
                    f"pairs table names Landsat date {d}, which the ingested stack lacks",
                    "rerun the quality rule",
                )

    def fine(self, date: dt.date, window: Window) -> np.ndarray:
        """Landsat NDVI of ``date``; pixels the quality stage flagged are NaN (read-only
        when read over the current block, whose last ``FINE_CACHE`` dates are kept)."""
        if self._block is None or window != self._block.read:
            return self._read_fine(date, window)
        if date not in self._fine:
            if len(self._fine) >= FINE_CACHE:
                del self._fine[next(iter(self._fine))]
            self._fine[date] = self._read_fine(date, window)
            self._fine[date].flags.writeable = False
        return self._fine[date]

    def _read_fine(self, date: dt.date, window: Window) -> np.ndarray:
        band = self.landsat.band(date)
        values = self.landsat.read(window, band)
        if self.mask is not None:
            # Pixels the quality stage flagged (haze, bright, cold, ...) are not trusted as bases.
            flags = self.mask.read(window, band)
            values[np.nan_to_num(flags, nan=0.0) != 0] = np.nan
        return values

    def has_coarse(self, date: dt.date) -> bool:
        return composite_containing(date) in self.modis.dates

    def coarse(self, date: dt.date, window: Window) -> np.ndarray:
        """The MODIS composite containing ``date`` (all NaN when it is missing)."""
        if not self.has_coarse(date):
            return np.full((window.height, window.width), np.nan, dtype=np.float32)
        band = self.modis.band(composite_containing(date))
        if self._modis is not None and self._block is not None:
            if window == self._block.read:
                return self._modis[band - 1]
            if window == self._block.core:
                return _core(self._modis[band - 1], self._block)
        return self.modis.read(window, band)

    def cells(self, window: Window) -> np.ndarray:
        """Coarse cell labels of the window from all MODIS composites."""
        if self._modis is not None and self._block is not None and window == self._block.read:
            return coarse_cell_labels(*self._modis)
        return coarse_cell_labels(*self.modis.read(window))

    def flagged_fraction(self) -> float:
        """Share of the Landsat pixels the quality mask removes (read band by band)."""
        if self.mask is None:
            return 0.0
        full = Window(0, 0, self.shape[1], self.shape[0])
        flagged = sum(
            int((np.nan_to_num(self.mask.read(full, b), nan=0.0) != 0).sum())
            for b in range(1, self.mask.count + 1)
        )
        return flagged / (self.mask.count * self.shape[0] * self.shape[1])


@contextlib.contextmanager
def _open_inputs(
    landsat: str | Path, modis: str | Path, mask: str | Path | None
) -> Iterator[_Stacks]:
    with contextlib.ExitStack() as stack:
        readers = [stack.enter_context(open_stack(p)) for p in (landsat, modis)]
        m = None if mask is None else stack.enter_context(open_stack(mask))
        yield _Stacks(*readers, m)


@dataclass
class _Plan:
    """Which targets and held-out dates each pair set predicts."""

    targets: list[tuple[int, dt.date, pd.Series, Pair | None]]
    held_out: dict[dt.date, list[tuple[str, pd.Series, Pair | None]]]
    pair_sets: list[Pair] = field(default_factory=list)
    targets_of: dict[Pair, list[tuple[int, dt.date]]] = field(default_factory=dict)
    held_out_of: dict[Pair, list[tuple[dt.date, str]]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        for band, target, _, pair in self.targets:
            if pair is not None:
                self.targets_of.setdefault(pair, []).append((band, target))
        for d, rows in self.held_out.items():
            for method, _, pair in rows:
                if pair is not None:
                    self.held_out_of.setdefault(pair, []).append((d, method))
        self.pair_sets = sorted(set(self.targets_of) | set(self.held_out_of))

    @property
    def method(self) -> str:
        """The pair selector of the product (the pairs table's ``method``)."""
        return str(self.targets[0][2]["method"]) if self.targets else ""

    def fine_dates(self) -> tuple[set[dt.date], set[dt.date]]:
        """Landsat dates the fused targets need, and those the validation needs."""
        fused = {d for p in self.targets_of for d in p}
        validation = {d for p in self.held_out_of for d in p} | set(self.held_out)
        return fused, validation


def _plan(pairs_csv: str | Path, validation_pairs_csv: str | Path, year: int) -> _Plan:
    pairs = read_pairs_table(pairs_csv).set_index("target_date")
    targets = composite_starts(year)
    missing = [t for t in targets if t not in pairs.index]
    if missing:
        raise InputError(
            pairs_csv, f"has no row for target dates {missing[:3]}...", "rerun the quality rule"
        )
    rows = [(i, t, pairs.loc[t], _pair_dates(pairs.loc[t])) for i, t in enumerate(targets, 1)]
    held_out: dict[dt.date, list[tuple[str, pd.Series, Pair | None]]] = {}
    for d, group in read_pairs_table(validation_pairs_csv).groupby("target_date", sort=True):
        held_out[d] = [(row["method"], row, _pair_dates(row)) for _, row in group.iterrows()]
    return _Plan(rows, held_out)


class _Agreement:
    """Sufficient statistics of :func:`~agrifactory.fusion.agreement`, summed over blocks.

    Means, sums of squared deviations and the co-moment are merged block by block
    (Chan, Golub & LeVeque 1979), so r is as accurate as from all pixels at once;
    the RMSE, mean absolute difference and bias come from plain sums.
    """

    def __init__(self) -> None:
        self.n = 0
        self.mean_x = self.mean_y = self.m2x = self.m2y = self.cxy = 0.0
        self.sum_d = self.sum_d2 = self.sum_abs_d = 0.0

    def add(self, prediction: np.ndarray, truth: np.ndarray) -> None:
        """Add the pixels finite in both arrays."""
        x = prediction.astype(np.float64).ravel()
        y = truth.astype(np.float64).ravel()
        ok = np.isfinite(x) & np.isfinite(y)
        x, y = x[ok], y[ok]
        nb = int(x.size)
        if nb == 0:
            return
        mx, my = float(x.mean()), float(y.mean())
        dx, dy, d = x - mx, y - my, x - y
        n = self.n + nb
        ex, ey = mx - self.mean_x, my - self.mean_y
        w = self.n * nb / n
        self.m2x += float((dx * dx).sum()) + ex * ex * w
        self.m2y += float((dy * dy).sum()) + ey * ey * w
        self.cxy += float((dx * dy).sum()) + ex * ey * w
        self.mean_x += ex * nb / n
        self.mean_y += ey * nb / n
        self.sum_d += float(d.sum())
        self.sum_d2 += float((d * d).sum())
        self.sum_abs_d += float(np.abs(d).sum())
        self.n = n

    def result(self) -> dict[str, float]:
        """``n, r, rmse, mad, bias`` as :func:`~agrifactory.fusion.agreement` gives them."""
        n = self.n
        if n == 0:
            return {"n": 0, "r": np.nan, "rmse": np.nan, "mad": np.nan, "bias": np.nan}
        denom = np.sqrt(self.m2x * self.m2y)
        return {
            "n": n,
            "r": float(self.cxy / denom) if n >= 2 and denom > 0 else np.nan,
            "rmse": float(np.sqrt(self.sum_d2 / n)),
            "mad": self.sum_abs_d / n,
            "bias": self.sum_d / n,
        }


class _Validation:
    """Held-out validation summed over blocks: coverage counts and agreement statistics."""

    def __init__(self, plan: _Plan) -> None:
        self.plan = plan
        self.seen = dict.fromkeys(plan.held_out, 0)
        self.covered = {(d, m): 0 for d, rows in plan.held_out.items() for m, _, _ in rows}
        self.stats = {key: _Agreement() for key in self.covered}
        self.flags = _FlagValidation(plan)

    def add_block(self, truth: dict[dt.date, np.ndarray], preds: dict[Any, np.ndarray]) -> None:
        """Add one block's core: the scenes and each selector's prediction (absent: no pair)."""
        for d, rows in self.plan.held_out.items():
            seen = np.isfinite(truth[d])
            self.seen[d] += int(seen.sum())
            # Selectors are compared on the pixels that every selector with a pair predicted.
            common = seen.copy()
            for method, _, _ in rows:
                if (d, method) in preds:
                    common &= np.isfinite(preds[(d, method)])
            for method, _, _ in rows:
                if (d, method) in preds:
                    pred = preds[(d, method)]
                    self.covered[(d, method)] += int((np.isfinite(pred) & seen).sum())
                    self.stats[(d, method)].add(np.where(common, pred, np.nan), truth[d])

    def table(self) -> pd.DataFrame:
        out = []
        for d, rows in self.plan.held_out.items():
            for method, row, pair in rows:
                record = {
                    "heldout_date": d.isoformat(),
                    "method": method,
                    "status": row["status"],
                    "pair1_date": pair[0].isoformat() if pair else "",
                    "pair2_date": pair[1].isoformat() if pair else "",
                }
                if pair is None:
                    nan = {"r": np.nan, "rmse": np.nan, "mad": np.nan, "bias": np.nan}
                    out.append({**record, "coverage": 0.0, "n": 0, **nan})
                    continue
                coverage = self.covered[(d, method)] / max(self.seen[d], 1)
                out.append({**record, "coverage": coverage, **self.stats[(d, method)].result()})
        return pd.DataFrame(out, columns=VALIDATION_COLUMNS)


class _FlagValidation:
    """Held-out validation of the product's cascade per flag class, summed over blocks.

    Per held-out date and flag: pixels with a value where the scene is valid
    (``covered``), and on those that also have a nearest-clear baseline value, the
    count, the sums of the error and its square, and the baseline's squared error.
    """

    def __init__(self, plan: _Plan) -> None:
        self.plan = plan
        self.seen = dict.fromkeys(plan.held_out, 0)
        self.sums = {(d, c): np.zeros(5) for d in plan.held_out for c in VALIDATED_FLAGS}
        self.scatter = {
            c: np.zeros((SCATTER_BINS, SCATTER_BINS), np.int64) for c in VALIDATED_FLAGS
        }

    def add(self, d: dt.date, truth, value, flag, baseline) -> None:
        """Add one block's core of held-out date ``d``."""
        seen = np.isfinite(truth)
        self.seen[d] += int(seen.sum())
        have = seen & np.isfinite(value)
        for code in VALIDATED_FLAGS:
            m = have & (flag == code)
            self.scatter[code] += scatter_counts(truth[m], value[m])
            both = m & np.isfinite(baseline)
            err = value[both].astype(np.float64) - truth[both]
            base = baseline[both].astype(np.float64) - truth[both]
            self.sums[(d, code)] += [
                m.sum(),
                both.sum(),
                err.sum(),
                (err * err).sum(),
                (base * base).sum(),
            ]

    def table(self) -> pd.DataFrame:
        rows = []
        for (d, code), (covered, n, sd, sd2, sb2) in self.sums.items():
            rows.append({
                "heldout_date": d.isoformat(),
                "method": self.plan.method,
                "flag": code,
                "flag_name": STAGE_QA_NAMES[code],
                "coverage": covered / max(self.seen[d], 1),
                "n": int(n),
                "rmse": float(np.sqrt(sd2 / n)) if n else np.nan,
                "bias": float(sd / n) if n else np.nan,
                "baseline_rmse": float(np.sqrt(sb2 / n)) if n else np.nan,
            })  # fmt: skip
        return pd.DataFrame(rows, columns=VALIDATION_FLAGS_COLUMNS)

    def scatter_table(self) -> pd.DataFrame:
        """Held-out pixels per flag class and (observed, fused) NDVI bin, over all dates."""
        return scatter_table(self.scatter, STAGE_QA_NAMES)


#: Flag classes of ``validation_flags.csv``: every flag of a pixel with a value.
VALIDATED_FLAGS = tuple(c for c in STAGE_QA_NAMES if c != QA_INVALID)

VALIDATION_FLAGS_COLUMNS = [
    "heldout_date", "method", "flag", "flag_name", "coverage", "n", "rmse", "bias",
    "baseline_rmse",
]  # fmt: skip

VALIDATION_COLUMNS = [
    "heldout_date",
    "method",
    "status",
    "pair1_date",
    "pair2_date",
    "coverage",
    "n",
    "r",
    "rmse",
    "mad",
    "bias",
]


def _core(a: np.ndarray, block: Block) -> np.ndarray:
    return a[(Ellipsis, *block.inner)]


def _embed(core_mask: np.ndarray, block: Block) -> np.ndarray:
    """A core-shaped bool mask as a mask over the block's read window (False outside)."""
    out = np.zeros((block.read.height, block.read.width), dtype=bool)
    out[block.inner] = core_mask
    return out


def _lattice(values: np.ndarray, core: Window, stride: int) -> np.ndarray:
    """``values`` of a core window, NaN off every ``stride``-th row and column of the tile
    (counted from the tile's first pixel, so blocks and the whole tile agree)."""
    if stride == 1:
        return values
    out = np.full_like(values, np.nan)
    r, c = (-int(core.row_off)) % stride, (-int(core.col_off)) % stride
    out[r::stride, c::stride] = values[r::stride, c::stride]
    return out


class _Bases:
    """One block's single-pair fallback models, one per base date (cached while used).

    For each base of a two-pair set, the fallback needs that base used as both pairs
    at the pixels valid in it but not in the other base: in the core for a pair set
    with targets, only where a held-out scene of the product's selector is compared
    for a validation-only one. A base date shared by several pair sets is prepared
    once, on the union of their centres (a centre's result does not depend on the
    other centres), and dropped after the last pair set that uses it.
    """

    def __init__(self, fuser: _BlockFuser, block: Block, cells: Any, truth) -> None:
        self.fuser, self.block, self.cells = fuser, block, cells
        self.models: dict[dt.date, EstarfmModel] = {}
        self.centres: dict[Pair, list[tuple[dt.date, np.ndarray]]] = {}  # core-shaped
        self.need: dict[dt.date, np.ndarray] = {}
        self.last: dict[dt.date, int] = {}
        if fuser.fill is None:
            return
        valid: dict[dt.date, np.ndarray] = {}
        for i, pair in enumerate(fuser.plan.pair_sets):
            region = fuser.fallback_region(pair, block, truth)
            if pair[0] == pair[1] or region is None:
                continue
            for d in pair:
                if d not in valid:
                    im = (fuser.stacks.fine(d, block.read), fuser.stacks.coarse(d, block.read))
                    valid[d] = valid_mask([as_bands(a) for a in im], fuser.params.background)
            for k in (0, 1):
                centres = region & valid[pair[k]] & ~valid[pair[1 - k]]
                if centres.any():
                    core = np.ascontiguousarray(_core(centres, block))
                    self.centres.setdefault(pair, []).append((pair[k], core))
                    self.need[pair[k]] = self.need.get(pair[k], False) | centres
                    self.last[pair[k]] = i

    def scans(self) -> tuple[int, int]:
        """Centres to scan: per pair set and base summed, and once per base date."""
        each = sum(int(c.sum()) for cs in self.centres.values() for _, c in cs)
        return each, sum(int(c.sum()) for c in self.need.values())

    def models_of(self, pair: Pair) -> list[tuple[np.ndarray, EstarfmModel]]:
        """(core centres, model) per base of ``pair`` that has centres."""
        return [(c, self._model(d)) for d, c in self.centres.get(pair, [])]

    def _model(self, d: dt.date) -> EstarfmModel:
        if d not in self.models:
            f, w = self.fuser, self.block.read
            fine, coarse = f.xp.asarray(f.stacks.fine(d, w)), f.xp.asarray(f.stacks.coarse(d, w))
            self.models[d] = prepare(fine, coarse, fine, coarse, f.params,
                                     coarse_cells=self.cells,
                                     centres=f.xp.asarray(self.need[d]))  # fmt: skip
        return self.models[d]

    def done(self, index: int) -> None:
        """Drop the models no pair set after the ``index``-th uses."""
        for d in [d for d in self.models if self.last[d] <= index]:
            del self.models[d]


class _BlockFuser:
    """Fuses one block after another, writing the cores and summing the QA counts."""

    def __init__(
        self,
        stacks: _Stacks,
        plan: _Plan,
        params: EstarfmParams,
        xp: Any,
        fill: Any = None,
        stride: int = 1,
    ) -> None:
        self.stacks, self.plan, self.params, self.xp, self.fill = stacks, plan, params, xp, fill
        self.stride = stride
        self.scanned = np.zeros(2, dtype=np.int64)  # single-pair centres: per pair set, cached
        n = len(plan.targets)
        self.finite = np.zeros(n + 1, dtype=np.int64)  # by 1-based band
        self.codes = np.zeros((n + 1, 256), dtype=np.int64)
        self.pairs_with_data: set[Pair] = set()
        self.days = np.array([t.toordinal() for _, t, _, _ in plan.targets], dtype=np.float64)

    def compared(self, pair: Pair, block: Block, truth, methods=None) -> np.ndarray | None:
        """Read-window mask of the pixels where a held-out date of ``pair`` (of the
        selectors ``methods``; all when None) is compared with its scene."""
        dates = [
            d for d, m in self.plan.held_out_of.get(pair, []) if methods is None or m in methods
        ]
        if not dates:
            return None
        return _embed(np.logical_or.reduce([np.isfinite(truth[d]) for d in dates]), block)

    def fallback_region(self, pair: Pair, block: Block, truth) -> np.ndarray | None:
        """Where ``pair``'s single-pair fallback can be needed: the core when it has
        targets, else the compared pixels of the product selector's held-out dates."""
        if pair in self.plan.targets_of:
            return _embed(np.ones((block.core.height, block.core.width), dtype=bool), block)
        return self.compared(pair, block, truth, {self.plan.method})

    def _model(
        self, pair: Pair, block: Block, cells: Any, centres: np.ndarray | None = None
    ) -> EstarfmModel | None:
        s, w, xp = self.stacks, block.read, self.xp
        try:
            model = prepare(
                xp.asarray(s.fine(pair[0], w)),
                xp.asarray(s.coarse(pair[0], w)),
                xp.asarray(s.fine(pair[1], w)),
                xp.asarray(s.coarse(pair[1], w)),
                self.params,
                coarse_cells=cells,
                centres=None if centres is None else xp.asarray(centres),
            )
        except DataError:
            return None  # no pixel of this block is valid in all four base images
        self.pairs_with_data.add(pair)
        return model

    def _predict(
        self, model: EstarfmModel | None, date: dt.date, block: Block
    ) -> tuple[np.ndarray, np.ndarray]:
        """Core prediction and QA flags; invalid everywhere without a model or a MODIS composite."""
        shape = (block.core.height, block.core.width)
        if model is None or not self.stacks.has_coarse(date):
            return np.full(shape, np.nan, np.float32), np.full(shape, QA_INVALID, np.uint8)
        p, q = predict(model, self.xp.asarray(self.stacks.coarse(date, block.read)))
        return (
            _core(to_numpy(p), block).astype(np.float32),
            _core(to_numpy(q), block).astype(np.uint8),
        )

    def _single_pair(
        self, bases: _Bases, pair: Pair, date: dt.date, pred: np.ndarray, qa: np.ndarray
    ) -> None:
        """Fallback b in place: a core pixel missing in one base only gets single-pair
        ESTARFM from the other base."""
        if self.fill is None or pair[0] == pair[1] or not self.stacks.has_coarse(date):
            return
        if bool(np.isfinite(pred).all()):
            return
        c0 = self.xp.asarray(self.stacks.coarse(date, bases.block.read))
        for centres, model in bases.models_of(pair):
            p, q = predict(model, c0)
            p, q = _core(to_numpy(p), bases.block), _core(to_numpy(q), bases.block)
            put = centres & np.isfinite(p) & ~np.isfinite(pred)
            pred[put] = p[put]
            qa[put] = QA_SINGLE_PAIR

    def _write(self, out: tuple[Any, Any], band: int, block: Block, pred, qa) -> None:
        out[0].write_window(pred, block.core, band)
        out[1].write_window(qa, block.core, band)
        self.finite[band] += int(np.isfinite(pred).sum())
        self.codes[band] += np.bincount(qa.ravel(), minlength=256)

    def _estarfm(self, block: Block, series: _Series, truth) -> dict[dt.date, tuple[Any, Any]]:
        """ESTARFM (two pairs, then single pair) of every target into ``series``; returns
        the product selector's held-out predictions (the validation's own are added).

        A pair set used only by the validation is prepared only where its held-out
        scenes are compared (``truth`` finite); its predictions are NaN elsewhere.
        """
        cells = self.xp.asarray(self.stacks.cells(block.read))
        bases = _Bases(self, block, cells, truth)
        self.scanned += bases.scans()
        held: dict[dt.date, tuple[Any, Any]] = {}
        for i, pair in enumerate(self.plan.pair_sets):
            centres = None if pair in self.plan.targets_of else self.compared(pair, block, truth)
            model = self._model(pair, block, cells, centres)
            for band, target in self.plan.targets_of.get(pair, []):
                p, q = self._predict(model, target, block)
                self._single_pair(bases, pair, target, p, q)
                series.values[band - 1], series.flags[band - 1] = p, q
            for d, method in self.plan.held_out_of.get(pair, []):
                p, q = self._predict(model, d, block)
                if centres is not None:
                    off = ~np.isfinite(truth[d])  # not scanned there: meaningless values
                    p[off], q[off] = np.nan, QA_INVALID
                series.preds[(d, method)] = p
                if method == self.plan.method:
                    p, q = p.copy(), q.copy()
                    self._single_pair(bases, pair, d, p, q)
                    held[d] = (p, q)
            del model  # one prepared two-pair model at a time
            bases.done(i)
        return held

    def fuse(self, block: Block, out: tuple[Any, Any], validation: _Validation) -> None:
        """Fuse one block: write its core of every target, add its validation statistics."""
        series = _Series.empty(self.plan, (block.core.height, block.core.width))
        # Validation compares only the lattice's pixels (every one with stride 1).
        truth = {
            d: _lattice(_core(self.stacks.fine(d, block.read), block), block.core, self.stride)
            for d in self.plan.held_out
        }
        held = self._estarfm(block, series, truth)
        scenes = _ScenePass(self, block, need_sums=bool(self.fill and self.fill.order))
        methods = self._methods(scenes.sums, block)
        if methods is not None:
            fill_series(series.values, series.flags, self.days, methods,
                        lambda t: self.stacks.coarse(self.plan.targets[t][1], block.core))  # fmt: skip
        for band in range(1, len(self.plan.targets) + 1):
            self._write(out, band, block, series.values[band - 1], series.flags[band - 1])
        validation.add_block(truth, series.preds)
        for d in self.plan.held_out:
            value, flag = held.get(d) or _Series.blank(truth[d].shape)
            if scenes.sums is not None:
                fine, coarse = scenes.held[d]
                self._fill_held_out(
                    block, d, value, flag, series, scenes.sums.without(fine, coarse)
                )
            validation.flags.add(d, truth[d], value, flag, scenes.baseline[d])

    def _methods(self, sums: RegressionSums | None, block: Block) -> FillMethods | None:
        if self.fill is None or not self.fill.order:
            return None
        line = None
        if sums is not None and "regression" in self.fill.order:
            a, b = sums.coefficients(self.fill.min_points, self.fill.window)
            line = (_core(a, block), _core(b, block))
        return FillMethods(self.fill.order, self.fill.max_gap_days, line,
                           self.params.valid_range)  # fmt: skip

    def _fill_held_out(
        self, block: Block, d: dt.date, value, flag, series: _Series, sums: RegressionSums
    ) -> None:
        """The cascade's fills at a held-out date, from what does not use its scene."""
        methods = self._methods(sums, block)
        assert methods is not None
        uses = np.array([p is not None and d in p for _, _, _, p in self.plan.targets])
        source = predicted(series.flags) & ~uses[:, None, None]
        day = float(d.toordinal())
        fill_date(
            value, flag, methods,
            lambda: temporal_at(series.values, source, self.days, day, methods.max_gap_days),
            lambda: self.stacks.coarse(d, block.core),
        )  # fmt: skip

    def qa_table(self) -> pd.DataFrame:
        total = self.stacks.shape[0] * self.stacks.shape[1]
        rows = []
        for band, target, row, pair in self.plan.targets:
            fractions = {
                f"{name}_fraction": float(self.codes[band, code] / total)
                for code, name in STAGE_QA_NAMES.items()
            }
            empty = self.codes[band, QA_INVALID] + self.codes[band, QA_NO_PAIR]
            rows.append(
                {
                    "target_date": target.isoformat(),
                    "status": row["status"],
                    "method": row["method"],
                    "pair1_date": pair[0].isoformat() if pair else "",
                    "pair2_date": pair[1].isoformat() if pair else "",
                    "single_pair": bool(pair and pair[0] == pair[1]),
                    "predicted_fraction": float(self.finite[band] / total),
                    **fractions,
                    "no_pair_fraction": float(self.codes[band, QA_NO_PAIR] / total),
                    "unfilled_fraction": float(empty / total),
                    "reason": row["reason"],
                }
            )
        return pd.DataFrame(rows)


@dataclass
class _Series:
    """A block core's fused series and flags, and the held-out predictions per selector."""

    values: np.ndarray
    flags: np.ndarray
    preds: dict[tuple[dt.date, str], np.ndarray] = field(default_factory=dict)

    @staticmethod
    def blank(shape: tuple[int, ...]) -> tuple[np.ndarray, np.ndarray]:
        return np.full(shape, np.nan, np.float32), np.full(shape, QA_INVALID, np.uint8)

    @classmethod
    def empty(cls, plan: _Plan, shape: tuple[int, int]) -> _Series:
        values, flags = cls.blank((len(plan.targets), *shape))
        for band, _, _, pair in plan.targets:
            if pair is None:
                flags[band - 1] = QA_NO_PAIR
        return cls(values, flags)


class _ScenePass:
    """One read of every Landsat scene of a block: the regression sums (over the read
    window), and per held-out date its scene and the nearest-clear baseline (core)."""

    def __init__(self, fuser: _BlockFuser, block: Block, need_sums: bool) -> None:
        s = fuser.stacks
        held = list(fuser.plan.held_out)
        shape = (block.read.height, block.read.width)
        self.sums = RegressionSums.zeros(shape) if need_sums else None
        self.held: dict[dt.date, tuple[np.ndarray, np.ndarray]] = {}
        core = _Series.blank((block.core.height, block.core.width))[0]
        self.baseline = {d: core.copy() for d in held}
        gap = {d: np.full(core.shape, np.inf) for d in held}
        if not held and not need_sums:
            return
        for d in s.landsat.dates:
            fine, coarse = s.fine(d, block.read), s.coarse(d, block.read)
            if self.sums is not None:
                self.sums.add(fine, coarse)
            if d in self.baseline:
                self.held[d] = (fine, coarse)
            clear = np.isfinite(_core(fine, block))
            for h in held:
                # The nearest clear observation other than the scene; ties go to the earlier.
                closer = clear & (abs((d - h).days) < gap[h]) & (d != h)
                self.baseline[h][closer] = _core(fine, block)[closer]
                gap[h][closer] = abs((d - h).days)


def fuse_tile(
    landsat_ndvi: str | Path,
    modis_ndvi: str | Path,
    pairs_csv: str | Path,
    validation_pairs_csv: str | Path,
    year: int,
    outputs: Mapping[str, str | Path],
    params: EstarfmParams,
    backend: str = "auto",
    quality_mask: str | Path | None = None,
    tile_block: int | None = DEFAULT_TILE_BLOCK,
    fill: FillSettings | None = None,
    validation_stride: int = 1,
) -> pd.DataFrame:
    """Fuse one tile-year into 46 8-day NDVI images, block by block.

    With ``quality_mask`` (the quality stage's per-pixel mask stack), Landsat pixels
    flagged there are treated as missing in the base images, on top of the QA_PIXEL
    masking done at ingest.

    ``outputs``: ``ndvi`` (46-band float32 COG), ``flags`` (46-band uint8 COG of
    :data:`~agrifactory.fusion.params.STAGE_QA_NAMES` codes, 255 = no pair and not
    filled), ``qa`` (CSV, one row per target), ``validation`` (CSV, one row per
    held-out date and pair selector) and, when given, ``validation_flags`` (CSV, one
    row per held-out date and flag class of the product's cascade) and
    ``validation_scatter`` (CSV, held-out pixels per flag class and bin of observed and
    fused NDVI, :func:`~agrifactory.fusion.metrics.scatter_table`). Returns the QA
    table.

    ``fill``: the per-pixel fallbacks after two-pair ESTARFM (single pair, then
    ``fill.order``); ``None``: none (every pixel ESTARFM cannot predict stays NaN).

    ``tile_block`` is the edge of the square blocks the tile is processed in
    (``None``: the whole tile at once); memory grows with its square (see
    ``docs/scaling.md``, Memory), results do not depend on it. With ``layout='reference'``
    it must be a multiple of ``params.block_size``.

    ``validation_stride``: the validation tables compare only the pixels on every
    ``validation_stride``-th row and column of the tile (a systematic sample; 1: all).
    Pair sets used only by the validation are prepared only at the compared pixels.
    The product does not depend on it.
    """
    check_tile_block(tile_block, params)
    if validation_stride < 1:
        raise ConfigError(f"fusion validation_stride must be at least 1, got {validation_stride}")
    xp = resolve_backend(backend)
    plan = _plan(pairs_csv, validation_pairs_csv, year)
    with gdal_cache(), _open_inputs(landsat_ndvi, modis_ndvi, quality_mask) as stacks:
        _check_inputs(stacks, plan, pairs_csv, validation_pairs_csv)
        blocks = grid_blocks(stacks.shape, tile_block, block_halo(params))
        log.info(
            "%s pixels in %d block(s) of %s with a halo of %d; %d pair sets",
            stacks.shape, len(blocks), tile_block or "the whole tile", block_halo(params),
            len(plan.pair_sets),
        )  # fmt: skip
        fuser = _BlockFuser(stacks, plan, params, xp, fill, validation_stride)
        validation = _Validation(plan)
        _fuse_blocks(fuser, validation, blocks, outputs)
    log.info(
        "single-pair fallback: %d centres scanned (%d if each pair set scanned its own); "
        "%d pair sets only for validation, scanned where their scene is compared",
        fuser.scanned[1], fuser.scanned[0],
        len(set(plan.held_out_of) - set(plan.targets_of)),
    )  # fmt: skip
    table = fuser.qa_table()
    write_table(_float_text(table), outputs["qa"])
    write_table(_float_text(validation.table()), outputs["validation"])
    if "validation_flags" in outputs:
        write_table(_float_text(validation.flags.table()), outputs["validation_flags"])
    if "validation_scatter" in outputs:
        write_table(validation.flags.scatter_table(), outputs["validation_scatter"])
    log.info(
        "%d targets: %d from two pairs, %d from one, %d without; %d pair sets prepared per block",
        len(table),
        int((table["status"] == "ok").sum()),
        int(table["single_pair"].sum()),
        int((table["pair1_date"] == "").sum()),
        len(plan.pair_sets),
    )
    return table


def _check_inputs(
    stacks: _Stacks, plan: _Plan, pairs_csv: str | Path, validation_pairs_csv: str | Path
) -> None:
    """Every base date in the stacks; log the mask's share and targets without MODIS."""
    fused_dates, validation_dates = plan.fine_dates()
    stacks.require_fine(fused_dates, pairs_csv)
    stacks.require_fine(validation_dates, validation_pairs_csv)
    log.info("quality mask removes %.1f%% of the Landsat pixels", 100 * stacks.flagged_fraction())
    for d in sorted({t for _, t, _, p in plan.targets if p} | set(plan.held_out)):
        if not stacks.has_coarse(d):
            log.warning("no MODIS composite holds %s: it comes out invalid everywhere", d)


def _fuse_blocks(
    fuser: _BlockFuser,
    validation: _Validation,
    blocks: Sequence[Block],
    outputs: Mapping[str, str | Path],
) -> None:
    """Fuse every block into the NDVI and flag stacks; fail if a pair set had no data."""
    stacks, plan, params = fuser.stacks, fuser.plan, fuser.params
    names = [t.isoformat() for _, t, _, _ in plan.targets]
    common = {"count": len(names), "band_names": names}
    start = time.perf_counter()
    with (
        stack_writer(
            outputs["ndvi"], stacks.grid(), dtype=np.float32, nodata=np.nan, units="NDVI",
            tags={
                "method": "ESTARFM (index-then-blend)",
                "half_window": params.half_window,
                "classes": params.classes,
                "layout": params.layout,
            },
            **common,
        ) as ndvi_out,
        stack_writer(
            outputs["flags"], stacks.grid(), dtype=np.uint8, nodata=None, units="flag",
            tags={
                **{f"flag_{k}": v for k, v in STAGE_QA_NAMES.items()},
                f"flag_{QA_NO_PAIR}": "no_pair",
            },
            **common,
        ) as flags_out,
    ):  # fmt: skip
        for k, block in enumerate(blocks, start=1):
            stacks.use_block(block)
            fuser.fuse(block, (ndvi_out, flags_out), validation)
            stacks.use_block(None)
            log.info(
                "block %d of %d done (rows %d-%d, cols %d-%d), %.0f s so far",
                k, len(blocks), block.core.row_off, block.core.row_off + block.core.height,
                block.core.col_off, block.core.col_off + block.core.width,
                time.perf_counter() - start,
            )  # fmt: skip
        empty = [p for p in plan.pair_sets if p not in fuser.pairs_with_data]
        if empty:
            raise DataError(
                f"pair set {empty[0][0]} + {empty[0][1]}: no pixel of the tile is valid in "
                "all four base images (every pixel is NaN or flagged in at least one of "
                "them); choose other base pairs"
            )


def _float_text(table: pd.DataFrame, fmt: str = FLOAT_FORMAT) -> pd.DataFrame:
    """``table`` with its float columns as text in ``fmt`` (NaN empty).

    The CSV then has the bytes ``to_csv(float_format=fmt)`` gives, written through
    :func:`agrifactory.io.tables.write_table` like every other table.
    """
    out = table.copy()
    for name in out.columns:
        if pd.api.types.is_float_dtype(out[name].dtype):
            out[name] = ["" if np.isnan(v) else fmt % v for v in out[name]]
    return out
