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
compared with the real scene.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from agrifactory.backend import resolve_backend, to_numpy
from agrifactory.errors import InputError
from agrifactory.fusion.estarfm import coarse_cell_labels, predict, prepare
from agrifactory.fusion.metrics import agreement
from agrifactory.fusion.params import QA_NAMES, EstarfmParams
from agrifactory.grid import PixelGrid
from agrifactory.io.files import atomic_path
from agrifactory.io.modis import composite_containing, composite_starts
from agrifactory.io.pairs import read_pairs_table
from agrifactory.io.raster import read_stack, stack_writer

log = logging.getLogger(__name__)

#: QA flag of targets that had no pair at all (nothing predicted).
QA_NO_PAIR = 255


def params_from_config(cfg: Mapping[str, Any]) -> EstarfmParams:
    """ESTARFM parameters for NDVI from the config's ``fusion`` section."""
    keys = (
        "half_window",
        "classes",
        "block_size",
        "layout",
        "min_coarse_change",
        "significance",
        "max_conversion",
        "min_candidates",
    )
    return EstarfmParams.ndvi(**{k: cfg[k] for k in keys if k in cfg})


class _Inputs:
    """The tile-year's stacks, indexed by date, on the chosen array back end."""

    def __init__(
        self,
        landsat_path: str | Path,
        modis_path: str | Path,
        quality_mask: str | Path | None,
        xp: Any,
    ) -> None:
        landsat, l_dates, meta = read_stack(landsat_path)
        modis, m_dates, _ = read_stack(modis_path)
        if landsat.shape[1:] != modis.shape[1:]:
            raise InputError(
                modis_path,
                f"grid {modis.shape[1:]} differs from the Landsat stack's {landsat.shape[1:]}",
            )
        if quality_mask is not None:
            # Pixels the quality stage flagged (haze, bright, cold, ...) are not trusted as bases.
            flags, f_dates, _ = read_stack(quality_mask)
            if f_dates != l_dates or flags.shape != landsat.shape:
                raise InputError(
                    quality_mask,
                    "dates or grid differ from the Landsat NDVI stack",
                    "rerun the quality rule",
                )
            flagged = np.nan_to_num(flags, nan=0.0) != 0
            log.info("quality mask removes %.1f%% of the Landsat pixels", 100 * flagged.mean())
            landsat = np.where(flagged, np.nan, landsat)
        self.meta = meta
        self.shape = landsat.shape[1:]
        self.xp = xp
        self.landsat = {d: xp.asarray(band) for d, band in zip(l_dates, landsat, strict=True)}
        self.modis = {d: xp.asarray(band) for d, band in zip(m_dates, modis, strict=True)}
        self.cells = coarse_cell_labels(xp.asarray(modis))

    def fine(self, date: dt.date, source: str | Path) -> Any:
        if date not in self.landsat:
            raise InputError(
                source,
                f"pairs table names Landsat date {date}, which the ingested stack lacks",
                "rerun the quality rule",
            )
        return self.landsat[date]

    def coarse(self, date: dt.date) -> Any:
        """The MODIS composite containing ``date`` (all NaN when it is missing)."""
        start = composite_containing(date)
        if start not in self.modis:
            return self.xp.full(self.shape, np.nan, dtype=np.float32)
        return self.modis[start]


def _pair_dates(row: pd.Series) -> tuple[dt.date, dt.date] | None:
    """The two base dates of a pairs-table row; one date twice for a one-sided row."""
    d1, d2 = row["pair1_date"], row["pair2_date"]
    if d1 is None and d2 is None:
        return None
    return (d1 or d2, d2 or d1)


class _Models:
    """Prepared ESTARFM models, one per pair set, built on first use."""

    def __init__(self, inputs: _Inputs, params: EstarfmParams, source: str | Path) -> None:
        self.inputs, self.params, self.source = inputs, params, source
        self.cache: dict[tuple[dt.date, dt.date], Any] = {}

    def get(self, pair: tuple[dt.date, dt.date]) -> Any:
        if pair not in self.cache:
            i = self.inputs
            self.cache[pair] = prepare(
                i.fine(pair[0], self.source),
                i.coarse(pair[0]),
                i.fine(pair[1], self.source),
                i.coarse(pair[1]),
                self.params,
                coarse_cells=i.cells,
            )
            log.info("prepared pair set %s + %s (%d so far)", pair[0], pair[1], len(self.cache))
        return self.cache[pair]


def _qa_fractions(qa: np.ndarray) -> dict[str, float]:
    return {f"{name}_fraction": float((qa == code).mean()) for code, name in QA_NAMES.items()}


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
) -> pd.DataFrame:
    """Fuse one tile-year into 46 8-day NDVI images.

    With ``quality_mask`` (the quality stage's per-pixel mask stack), Landsat pixels
    flagged there are treated as missing in the base images, on top of the QA_PIXEL
    masking done at ingest.

    ``outputs``: ``ndvi`` (46-band float32 COG), ``flags`` (46-band uint8 COG of
    :data:`~agrifactory.fusion.params.QA_NAMES` codes, 255 = no pair), ``qa``
    (CSV, one row per target) and ``validation`` (CSV, one row per held-out date
    and pair selector). Returns the QA table.
    """
    xp = resolve_backend(backend)
    inputs = _Inputs(landsat_ndvi, modis_ndvi, quality_mask, xp)
    models = _Models(inputs, params, pairs_csv)
    pairs = read_pairs_table(pairs_csv).set_index("target_date")
    targets = composite_starts(year)
    missing = [t for t in targets if t not in pairs.index]
    if missing:
        raise InputError(
            pairs_csv, f"has no row for target dates {missing[:3]}...", "rerun the quality rule"
        )
    grid = PixelGrid(
        x_min=inputs.meta["transform"].c,
        y_max=inputs.meta["transform"].f,
        res=inputs.meta["transform"].a,
        width=inputs.shape[1],
        height=inputs.shape[0],
    )
    names = [t.isoformat() for t in targets]
    rows = []
    with (
        stack_writer(
            outputs["ndvi"],
            grid,
            count=len(targets),
            dtype=np.float32,
            nodata=np.nan,
            band_names=names,
            units="NDVI",
            tags={
                "method": "ESTARFM (index-then-blend)",
                "half_window": params.half_window,
                "classes": params.classes,
                "layout": params.layout,
            },
        ) as ndvi_out,
        stack_writer(
            outputs["flags"],
            grid,
            count=len(targets),
            dtype=np.uint8,
            nodata=None,
            band_names=names,
            units="flag",
            tags={**{f"flag_{k}": v for k, v in QA_NAMES.items()}, f"flag_{QA_NO_PAIR}": "no_pair"},
        ) as flags_out,
    ):
        for i, target in enumerate(targets, start=1):
            row = pairs.loc[target]
            pair = _pair_dates(row)
            if pair is None:
                pred = np.full(inputs.shape, np.nan, np.float32)
                qa = np.full(inputs.shape, QA_NO_PAIR, np.uint8)
            else:
                p, q = predict(models.get(pair), inputs.coarse(target))
                pred, qa = to_numpy(p).astype(np.float32), to_numpy(q).astype(np.uint8)
            ndvi_out.write_band(i, pred)
            flags_out.write_band(i, qa)
            rows.append(
                {
                    "target_date": target.isoformat(),
                    "status": row["status"],
                    "method": row["method"],
                    "pair1_date": pair[0].isoformat() if pair else "",
                    "pair2_date": pair[1].isoformat() if pair else "",
                    "single_pair": bool(pair and pair[0] == pair[1]),
                    "predicted_fraction": float(np.isfinite(pred).mean()),
                    **_qa_fractions(qa),
                    "reason": row["reason"],
                }
            )
    table = pd.DataFrame(rows)
    with atomic_path(outputs["qa"]) as tmp:
        table.to_csv(tmp, index=False, float_format="%.6f")
    validation = validate_held_out(inputs, models, validation_pairs_csv)
    with atomic_path(outputs["validation"]) as tmp:
        validation.to_csv(tmp, index=False, float_format="%.6f")
    log.info(
        "%d targets: %d from two pairs, %d from one, %d without; %d pair sets prepared",
        len(table),
        int((table["status"] == "ok").sum()),
        int(table["single_pair"].sum()),
        int((table["pair1_date"] == "").sum()),
        len(models.cache),
    )
    return table


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


def validate_held_out(
    inputs: _Inputs, models: _Models, validation_pairs_csv: str | Path
) -> pd.DataFrame:
    """Predict each held-out Landsat date from pairs chosen without it; compare with the scene.

    The pair selectors are compared on the same pixels: those of the held-out scene
    that every selector with a pair predicted. ``coverage`` is the share of the
    scene's valid pixels each selector predicted on its own.
    """
    pairs = read_pairs_table(validation_pairs_csv)
    rows = []
    for d, group in pairs.groupby("target_date", sort=True):
        truth = to_numpy(inputs.fine(d, validation_pairs_csv))
        seen = np.isfinite(truth)
        preds = {}
        for _, row in group.iterrows():
            pair = _pair_dates(row)
            pred = (
                None if pair is None else to_numpy(predict(models.get(pair), inputs.coarse(d))[0])
            )
            preds[row["method"]] = (row, pair, pred)
        common = seen.copy()
        for _, _, pred in preds.values():
            if pred is not None:
                common &= np.isfinite(pred)
        for method, (row, pair, pred) in preds.items():
            record = {
                "heldout_date": d.isoformat(),
                "method": method,
                "status": row["status"],
                "pair1_date": pair[0].isoformat() if pair else "",
                "pair2_date": pair[1].isoformat() if pair else "",
            }
            if pred is None:
                rows.append(
                    {
                        **record,
                        "coverage": 0.0,
                        "n": 0,
                        "r": np.nan,
                        "rmse": np.nan,
                        "mad": np.nan,
                        "bias": np.nan,
                    }
                )
                continue
            coverage = float((np.isfinite(pred) & seen).sum() / max(seen.sum(), 1))
            rows.append(
                {**record, "coverage": coverage, **agreement(np.where(common, pred, np.nan), truth)}
            )
    return pd.DataFrame(rows, columns=VALIDATION_COLUMNS)
