"""ESTARFM fusion of Landsat and MODIS: one algorithm, NumPy and CuPy back ends.

Public API: :func:`fuse` (one target date), :func:`prepare` + :func:`predict` (many
target dates per set of base pairs), :func:`coarse_cell_labels`,
:func:`blend_then_index`, :func:`agreement`, :class:`EstarfmParams` and the ``QA_*``
flags. The per-pixel baseline is :func:`agrifactory.fusion.reference.fuse_reference`.
The stage's contract (settings, output names, the ``fuse`` rule) is
:mod:`agrifactory.fusion.rules`.

The names are imported when first used, so the workflow can read the contract
without compiling the numba kernels.
"""

from __future__ import annotations

import importlib
from typing import Any

#: Where each public name lives.
_SOURCES = {
    "EstarfmModel": "agrifactory.fusion.estarfm",
    "blend_then_index": "agrifactory.fusion.estarfm",
    "coarse_cell_labels": "agrifactory.fusion.estarfm",
    "fuse": "agrifactory.fusion.estarfm",
    "predict": "agrifactory.fusion.estarfm",
    "prepare": "agrifactory.fusion.estarfm",
    "agreement": "agrifactory.fusion.metrics",
    "QA_INVALID": "agrifactory.fusion.params",
    "QA_NAMES": "agrifactory.fusion.params",
    "QA_OUT_OF_RANGE": "agrifactory.fusion.params",
    "QA_TEMPORAL": "agrifactory.fusion.params",
    "QA_WEIGHTED": "agrifactory.fusion.params",
    "EstarfmParams": "agrifactory.fusion.params",
}

__all__ = sorted(_SOURCES)


def __getattr__(name: str) -> Any:
    if name in _SOURCES:
        return getattr(importlib.import_module(_SOURCES[name]), name)
    raise AttributeError(f"module 'agrifactory.fusion' has no attribute {name!r}")
