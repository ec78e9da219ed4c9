"""Channel stacks and patches for the bias-correction CNN.

A *stack* is ``(T, C, n)``: the CNN channels (:func:`~agrifactory.soil_moisture.cnn.channel_names`)
at ``n`` places for every day. Station patches are cut from the stack of the
pixels around each station; grid stacks are reshaped to ``(T, C, H, W)``.

Missing inputs inside a patch or a padded grid (e.g. pixels beyond the
region's edge) are replaced by the mean of the valid values of that channel
and day in the same patch (or grid); the number replaced is logged. A patch
whose centre is missing gives no sample.
"""

from __future__ import annotations

import logging
import warnings
from collections.abc import Mapping, Sequence

import numpy as np

from agrifactory.soil_moisture.cnn import DRIVER_CHANNELS
from agrifactory.soil_moisture.features import FeatureBlock

log = logging.getLogger(__name__)


def patch_offsets(radius: int) -> tuple[np.ndarray, np.ndarray]:
    """Row and column offsets of a ``(2r+1)^2`` patch, row-major."""
    d = np.arange(-radius, radius + 1)
    dr, dc = np.meshgrid(d, d, indexing="ij")
    return dr.ravel(), dc.ravel()


def channel_stack(block: FeatureBlock, sm: Mapping[str, np.ndarray], layers: Sequence[str]):
    """``(T, C, n)`` float32 channels from features and downscaled soil moisture ``{layer: (T, n)}``."""
    chans = [block.channel(name) for name in DRIVER_CHANNELS]
    chans += [sm[layer] for layer in layers]
    return np.stack(chans, axis=1).astype(np.float32)


def fill_missing(arr: np.ndarray, axes: tuple[int, ...], what: str) -> np.ndarray:
    """Replace NaN by the mean over ``axes`` of the valid values (in place); log the count."""
    bad = np.isnan(arr)
    n_bad = int(bad.sum())
    if n_bad:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN slices stay NaN
            mean = np.nanmean(arr, axis=axes, keepdims=True)
        np.copyto(arr, np.broadcast_to(mean, arr.shape), where=bad)
        log.info("%s: %d missing input value(s) replaced by the local mean", what, n_bad)
    return arr


def station_patches(stack: np.ndarray, n_stations: int, radius: int) -> np.ndarray:
    """Cut ``(T, S, C, P, P)`` patches from a stack of station patch pixels.

    The stack's places must be ordered station by station, each with the
    ``(2r+1)^2`` pixels of :func:`patch_offsets`.
    """
    t, c, n = stack.shape
    p = 2 * radius + 1
    if n != n_stations * p * p:
        raise ValueError(f"{n} places for {n_stations} stations of {p}x{p} pixels")
    patches = stack.reshape(t, c, n_stations, p, p).transpose(0, 2, 1, 3, 4).copy()
    return fill_missing(patches, (3, 4), "station patches")


def grid_patches(grid_stack: np.ndarray, radius: int) -> np.ndarray:
    """All ``(T * H * W, C, P, P)`` patches of a ``(T, C, H, W)`` stack, edges replicated."""
    padded = np.pad(grid_stack, ((0, 0), (0, 0), (radius, radius), (radius, radius)), mode="edge")
    win = np.lib.stride_tricks.sliding_window_view(padded, (2 * radius + 1,) * 2, axis=(2, 3))
    t, c, h, w, p, _ = win.shape
    return np.ascontiguousarray(win.transpose(0, 2, 3, 1, 4, 5)).reshape(t * h * w, c, p, p)
