"""One tile and year, file to file: what the ``classify`` rule calls.

The cropland model classifies every pixel with data; the irrigation and crop-type
models classify only the pixels mapped as cropland. Class rasters hold the codes of
:mod:`agrifactory.legend` (uint8): 255 where the input stack has no data, and for
irrigation and crop type 0 ("not cropland") where the cropland map says other.
Probability COGs hold one band per class of the model (``p_<class>``), NaN where
the product was not predicted; the bands sum to 1 at every predicted pixel.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from pathlib import Path

import numpy as np

from agrifactory import legend as shared_legend
from agrifactory.classify.fanin import PRODUCTS, model_threads
from agrifactory.classify.legend import NODATA
from agrifactory.classify.models import load_model
from agrifactory.classify.predict import predict_stack, write_prediction
from agrifactory.classify.stack import TileStack
from agrifactory.errors import ConfigError

log = logging.getLogger(__name__)

#: Code of "not cropland" in the irrigation and crop-type rasters.
NOT_CROPLAND = 0


def raster_legend(product: str) -> dict[str, int]:
    """Label -> code of a product's class raster (with ``not_cropland`` where it has one)."""
    return {name: code for code, name in shared_legend.LEGENDS[product].items()}


def classify_tile(
    features: str | Path,
    smoothed: str | Path,
    models: Mapping[str, str | Path],
    outputs: Mapping[str, str | Path],
    *,
    tile_id: str,
    year: int,
    tile_km: int | None = None,
    block_rows: int = 512,
    threads: int = 1,
) -> dict[str, np.ndarray]:
    """Classify one tile-year and write the class and probability COGs.

    Parameters
    ----------
    features, smoothed
        ``features.tif`` and ``ndvi_hants.tif`` of the tile-year.
    models
        Product -> model directory (``cropland``, ``irrigation``, ``croptype``).
    outputs
        ``<product>`` -> class raster path and ``<product>_proba`` -> probability COG.
    block_rows
        Rows read and classified at a time (bounds memory on large tiles).

    Returns
    -------
    dict
        Product -> the class raster written.
    """
    missing = [p for p in PRODUCTS if p not in models]
    missing += [k for p in PRODUCTS for k in (p, f"{p}_proba") if k not in outputs]
    if missing:
        raise ConfigError(f"classify_tile needs models and outputs for {missing}")
    stack = TileStack(features, smoothed, tile_id, year=year, tile_km=tile_km)
    loaded = {p: load_model(models[p]) for p in PRODUCTS}
    for model in loaded.values():
        model_threads(model, threads)
    height, width = stack.shape
    classes = {p: np.full((height, width), NODATA, dtype=np.uint8) for p in PRODUCTS}
    proba = {
        p: np.full((len(m.classes_), height, width), np.nan, dtype=np.float32)
        for p, m in loaded.items()
    }
    for rows, data in stack.row_blocks(block_rows):
        crop, p_crop = predict_stack(loaded["cropland"], data, stack.feature_names)
        classes["cropland"][rows], proba["cropland"][:, rows] = crop, p_crop
        inside = crop == shared_legend.code_of(shared_legend.CROPLAND, "cropland")
        for product in ("irrigation", "croptype"):
            cls, p = predict_stack(loaded[product], data, stack.feature_names, within=inside)
            cls[(crop != NODATA) & ~inside] = NOT_CROPLAND
            classes[product][rows], proba[product][:, rows] = cls, p
        log.info("tile %s: classified rows %d-%d of %d", tile_id, rows.start, rows.stop, height)
    for product in PRODUCTS:
        write_prediction(
            outputs[product],
            outputs[f"{product}_proba"],
            classes[product],
            proba[product],
            loaded[product],
            raster_legend(product),
            transform=stack.transform,
            crs=stack.crs,
            product=product,
            year=year,
        )
        counts = dict(zip(*np.unique(classes[product], return_counts=True), strict=True))
        log.info("tile %s %s pixels per code: %s", tile_id, product, counts)
    return classes
