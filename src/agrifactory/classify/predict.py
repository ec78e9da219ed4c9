"""Per-tile prediction: class and class-probability rasters from a feature stack.

Class rasters hold the codes of :mod:`agrifactory.legend` (uint8): 255 where the
input stack has no data, and for irrigation and crop type 0 ("not cropland") where
the cropland map says other. Probability COGs hold one band per class of the model
(``p_<class>``), NaN where the product was not predicted; the bands sum to 1 at
every predicted pixel.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np
from affine import Affine
from pyproj import CRS

from agrifactory import legend as shared_legend
from agrifactory.backend import to_numpy
from agrifactory.classify.base import Classifier
from agrifactory.classify.cnn2d import MONTHLY_PREFIX
from agrifactory.classify.legend import NODATA, NOT_CROPLAND, PRODUCTS, check_legend
from agrifactory.classify.stack import TileStack
from agrifactory.errors import ConfigError, DataError, GridError

log = logging.getLogger(__name__)


def predict_stack(
    model: Classifier,
    stack: np.ndarray,
    feature_names: Sequence[str],
    *,
    within: np.ndarray | None = None,
    chunk: int = 65536,
) -> tuple[np.ndarray, np.ndarray]:
    """Classify every pixel of a ``(features, rows, cols)`` stack.

    Parameters
    ----------
    model
        A fitted classifier.
    stack, feature_names
        Features (NumPy or CuPy; models run on the host) and the name of each band;
        the model's features are picked from them by name (a stack may hold more).
    within
        Optional boolean ``(rows, cols)`` mask: pixels outside it (e.g. not cropland,
        for crop type and irrigation) are nodata.
    chunk
        Pixels per prediction batch (bounds memory).

    Returns
    -------
    classes
        ``uint8 (rows, cols)`` legend codes; :data:`~agrifactory.classify.legend.NODATA`
        (255) where any feature is NaN (for a model that takes missing values,
        ``model.allow_nan``: any feature but the ``monthly_*`` composites, or all of
        them) or outside ``within``.
    proba
        ``float32 (K, rows, cols)`` probabilities of ``model.classes_`` (sum 1 per
        pixel), NaN where ``classes`` is nodata.
    """
    data = to_numpy(stack)
    names = [str(n) for n in feature_names]
    if data.ndim != 3 or data.shape[0] != len(names):
        raise DataError(f"feature stack of shape {data.shape} for {len(names)} feature names")
    if names != model.feature_names_:
        missing = [n for n in model.feature_names_ if n not in names]
        if missing:
            raise DataError(
                f"feature names do not match: the model needs {missing}, which the stack "
                f"lacks (stack has {names[:10]}{' ...' if len(names) > 10 else ''})"
            )
        data = data[[names.index(n) for n in model.feature_names_]]
    if np.any(model.classes_ >= NODATA) or np.any(model.classes_ < 0):
        raise DataError(
            f"model classes {model.classes_.tolist()} do not fit uint8 codes below {NODATA}"
        )
    _, rows, cols = data.shape
    flat = data.reshape(data.shape[0], -1).T
    valid = np.all(np.isfinite(flat), axis=1)
    if model.allow_nan:  # monthly composites may be missing (as in the training set)
        optional = np.array([n.startswith(MONTHLY_PREFIX) for n in model.feature_names_])
        valid = (
            np.all(np.isfinite(flat[:, ~optional]), axis=1)
            & np.any(np.isfinite(flat), axis=1)
            & ~np.any(np.isinf(flat), axis=1)
        )
    if within is not None:
        within = to_numpy(within)
        if within.shape != (rows, cols):
            raise GridError(f"mask of shape {within.shape} for a stack of {rows}x{cols} pixels")
        valid &= within.astype(bool).ravel()
    k = len(model.classes_)
    classes = np.full(rows * cols, NODATA, dtype=np.uint8)
    proba = np.full((rows * cols, k), np.nan, dtype=np.float32)
    idx = np.flatnonzero(valid)
    for start in range(0, len(idx), chunk):
        part = idx[start : start + chunk]
        p = model.predict_proba(flat[part])
        proba[part] = p
        classes[part] = model.classes_[np.argmax(p, axis=1)].astype(np.uint8)
        if len(idx) > chunk:
            log.info("classified %d of %d pixels", min(start + chunk, len(idx)), len(idx))
    return classes.reshape(rows, cols), proba.T.reshape(k, rows, cols)


def write_prediction(
    class_path: str | Path,
    proba_path: str | Path,
    classes: np.ndarray,
    proba: np.ndarray,
    model: Classifier,
    legend: Mapping[str, int],
    *,
    transform: Affine,
    crs: CRS | str,
    product: str,
    year: int | None = None,
) -> None:
    """Write the class raster (uint8, nodata 255, legend in the tags) and the
    probability COG (float32, one band per class named by its label, NaN nodata)."""
    from agrifactory.io.raster import write_raster

    legend = check_legend(legend, product)
    names = {v: k for k, v in legend.items()}
    unknown = sorted(set(model.classes_.tolist()) - set(names))
    if unknown:
        raise DataError(f"{product}: model classes {unknown} are not in the legend {legend}")
    used = set(np.unique(classes).tolist()) - {NODATA}
    if not used <= set(names):
        raise DataError(
            f"{product}: class raster holds codes {sorted(used - set(names))} outside the legend"
        )
    tags = {
        "product": product,
        "legend": ";".join(f"{c}={n}" for n, c in legend.items()),
        "nodata": NODATA,
    }
    if year is not None:
        tags["year"] = year
    write_raster(
        class_path,
        classes.astype(np.uint8),
        transform=transform,
        crs=crs,
        nodata=NODATA,
        band_names=[product],
        tags=tags,
    )
    write_raster(
        proba_path,
        proba.astype(np.float32),
        transform=transform,
        crs=crs,
        nodata=np.nan,
        band_names=[f"p_{names[c]}" for c in model.classes_.tolist()],
        units="1",
        tags={**tags, "classes": ",".join(str(c) for c in model.classes_.tolist())},
    )


def classify_stack(
    stack: TileStack,
    models: Mapping[str, Classifier],
    *,
    block_rows: int,
) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:
    """Classify a tile's stack block by block with the three products' models.

    The cropland model classifies every pixel with data; the irrigation and crop-type
    models classify only the pixels mapped as cropland, and get
    :data:`~agrifactory.classify.legend.NOT_CROPLAND` where the cropland map says other.

    Returns
    -------
    classes, proba
        Product -> ``uint8 (rows, cols)`` class codes and ``float32 (K, rows, cols)``
        probabilities (NaN where the product was not predicted).
    """
    missing = [p for p in PRODUCTS if p not in models]
    if missing:
        raise ConfigError(f"classifying a tile needs the models of {missing}")
    height, width = stack.shape
    classes = {p: np.full((height, width), NODATA, dtype=np.uint8) for p in PRODUCTS}
    proba = {
        p: np.full((len(models[p].classes_), height, width), np.nan, dtype=np.float32)
        for p in PRODUCTS
    }
    cropland = shared_legend.code_of(shared_legend.CROPLAND, "cropland")
    for rows, data in stack.row_blocks(block_rows):
        crop, p_crop = predict_stack(models["cropland"], data, stack.feature_names)
        classes["cropland"][rows], proba["cropland"][:, rows] = crop, p_crop
        inside = crop == cropland
        for product in ("irrigation", "croptype"):
            cls, p = predict_stack(models[product], data, stack.feature_names, within=inside)
            cls[(crop != NODATA) & ~inside] = NOT_CROPLAND
            classes[product][rows], proba[product][:, rows] = cls, p
        log.info(
            "tile %s: classified rows %d-%d of %d", stack.tile_id, rows.start, rows.stop, height
        )
    return classes, proba
