"""The quality stage on one tile-year of ingested stacks, and the scorer's fan-in training.

These functions connect the ingest outputs to the scoring library: they read the
stacks, take from the ingest inventory which scenes really had a ``QA_PIXEL``
band (ingest stores zeros for a missing one), pair each Landsat date with the
MODIS 8-day composite that contains it, and write the stage's outputs.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from agrifactory.io.files import write_text_atomic
from agrifactory.io.modis import composite_containing
from agrifactory.io.raster import read_stack
from agrifactory.quality.config import PairSettings, ScorerSettings, ScoringSettings
from agrifactory.quality.pairs import (
    PAIR_COLUMNS,
    nearest_clear_pairs,
    select_pairs,
    write_pairs_table,
)
from agrifactory.quality.quicklook import scores_quicklook
from agrifactory.quality.scorer import (
    load_scorer,
    save_scorer,
    scene_scorer,
    train_scorer,
    training_patches,
)
from agrifactory.quality.scores import (
    SceneStack,
    score_stack,
    write_quality_mask,
    write_scores_table,
)

log = logging.getLogger(__name__)


def load_tile_stack(paths: Mapping[str, str | Path], inventory_csv: str | Path) -> SceneStack:
    """The scenes of one tile-year, with ``has_qa`` taken from the ingest inventory.

    ``paths``: the ingest stacks by name (the keywords of :meth:`SceneStack.from_files`).
    """
    stack = SceneStack.from_files(**paths)
    table = pd.read_csv(inventory_csv, keep_default_na=False)
    rows = table[table["sensor"] == "landsat"].set_index("date")
    missing_qa = {
        d for d, files in rows["missing_files"].items() if "QA_PIXEL" in str(files).split(";")
    }
    stack.has_qa = np.array([d.isoformat() not in missing_qa for d in stack.dates])
    if missing_qa:
        log.warning("no QA_PIXEL for %s: scored from spectral tests only", sorted(missing_qa))
    return stack


def modis_paired_dates(
    landsat_dates: Sequence[dt.date], modis_stack: str | Path, min_valid: float = 0.5
) -> list[dt.date]:
    """Landsat dates whose containing 8-day MODIS composite has at least ``min_valid`` data."""
    data, dates, _ = read_stack(modis_stack)
    valid = {d: float(np.isfinite(band).mean()) for d, band in zip(dates, data, strict=True)}
    return [d for d in landsat_dates if valid.get(composite_containing(d), 0.0) >= min_valid]


def validation_pairs(
    scores: pd.DataFrame,
    paired: Sequence[dt.date],
    year: int,
    config: PairSettings,
    n_dates: int,
    min_clear: float,
) -> pd.DataFrame:
    """Pairs for held-out dates: clear scenes of the year, each predicted without itself.

    Up to ``n_dates`` scenes of ``year`` with ``clear_fraction >= min_clear`` (evenly
    spread over the candidates) are held out in turn; for each, both selectors
    (quality-ranked and nearest-clear) choose pairs from the other scenes. The
    fusion predicts the held-out date and compares it with the real scene.
    """
    if n_dates == 0:  # quality.validation_dates: 0 switches the held-out validation off
        return pd.DataFrame(columns=PAIR_COLUMNS)
    dates = pd.to_datetime(scores["date"]).dt.date
    in_year = np.array([d.year == year for d in dates])
    candidates = scores[in_year & (scores["clear_fraction"].to_numpy() >= min_clear)]
    if candidates.empty:
        log.warning(
            "no scene of %d has a clear fraction >= %.2f: no held-out validation", year, min_clear
        )
        return pd.DataFrame(columns=PAIR_COLUMNS)
    pick = np.unique(
        np.round(np.linspace(0, len(candidates) - 1, min(n_dates, len(candidates)))).astype(int)
    )
    tables = []
    for d in pd.to_datetime(candidates["date"].iloc[pick]).dt.date:
        rest = scores[dates != d]
        others = [x for x in paired if x != d]
        tables.append(select_pairs(rest, [d], others, config))
        tables.append(nearest_clear_pairs(rest, [d], others, config))
    return pd.concat(tables, ignore_index=True)


def quality_tile(
    paths: Mapping[str, str | Path],
    inventory_csv: str | Path,
    modis_stack: str | Path,
    year: int,
    outputs: Mapping[str, str | Path],
    settings: ScoringSettings,
    pairs: PairSettings,
    validation: tuple[int, float],
    scorer_weights: str | Path | None = None,
) -> pd.DataFrame:
    """Score a tile-year's scenes and choose base pairs; writes every key of ``outputs``.

    ``outputs``: ``scores`` (CSV), ``mask`` (COG), ``pairs``, ``nearest_pairs`` and
    ``validation_pairs`` (CSV, see :func:`validation_pairs`, with ``validation`` its
    number of dates and least clear fraction), ``quicklook`` (PNG). Returns the
    pairs table.
    """
    stack = load_tile_stack(paths, inventory_csv)
    scorer = None
    if scorer_weights is not None:
        model, _ = load_scorer(scorer_weights)
        scorer = scene_scorer(model, settings.patch_min_valid)
    result = score_stack(stack, settings, scorer=scorer)
    write_scores_table(result.table, outputs["scores"])
    write_quality_mask(
        outputs["mask"], result.mask, stack.dates, transform=stack.transform, crs=stack.crs
    )
    paired = modis_paired_dates(stack.dates, modis_stack)
    chosen_pairs = select_pairs(result.table, year, paired, pairs)
    write_pairs_table(chosen_pairs, outputs["pairs"])
    write_pairs_table(
        nearest_clear_pairs(result.table, year, paired, pairs), outputs["nearest_pairs"]
    )
    held_out = validation_pairs(result.table, paired, year, pairs, *validation)
    write_pairs_table(held_out, outputs["validation_pairs"])
    dates = pd.concat([chosen_pairs["pair1_date"], chosen_pairs["pair2_date"]]).dropna()
    scores_quicklook(
        stack.ndvi_stack(), result.table, outputs["quicklook"], chosen=sorted(set(dates))
    )
    log.info(
        "%d scenes scored (median score %.2f); %d of %d targets have a pair",
        len(result.table),
        float(result.table["score"].median()),
        int((chosen_pairs["status"] == "ok").sum()),
        len(chosen_pairs),
    )
    return chosen_pairs


def _stacks(tiles: Sequence[tuple[Mapping[str, str], str]]) -> Iterator[SceneStack]:
    for paths, inventory in tiles:
        yield load_tile_stack(paths, inventory)


def train_scorer_from_tiles(
    tiles: Sequence[tuple[Mapping[str, str], str]],
    settings: ScoringSettings,
    scorer: ScorerSettings,
    weights_path: str | Path,
    metrics_path: str | Path,
    seed: int,
) -> dict[str, Any]:
    """The fan-in: clear patches from the given tiles, degraded on the fly, train the scorer.

    ``tiles`` holds, per tile, the paths of its ingest stacks and its inventory.
    """
    patches, groups, used = training_patches(
        _stacks(tiles), settings, patch_size=scorer.patch_size, seed=seed
    )
    log.info("%d clear patches from %d scenes of %d tiles", len(patches), len(used), len(tiles))
    model, metrics = train_scorer(patches, scorer, groups=groups, seed=seed)
    save_scorer(model, weights_path, metrics)
    write_text_atomic(
        metrics_path, json.dumps(metrics, indent=2, sort_keys=True, default=str) + "\n"
    )
    return metrics
