"""ESTARFM fusion of Landsat and MODIS: one algorithm, NumPy and CuPy back ends.

Public API: :func:`fuse` (one target date), :func:`prepare` + :func:`predict` (many
target dates per set of base pairs), :func:`coarse_cell_labels`,
:func:`blend_then_index`, :func:`agreement`, :class:`EstarfmParams` and the ``QA_*``
flags. The
per-pixel baseline is :func:`agrifactory.fusion.reference.fuse_reference`.
"""

from agrifactory.fusion.estarfm import (
    EstarfmModel,
    blend_then_index,
    coarse_cell_labels,
    fuse,
    predict,
    prepare,
)
from agrifactory.fusion.metrics import agreement
from agrifactory.fusion.params import (
    QA_INVALID,
    QA_NAMES,
    QA_OUT_OF_RANGE,
    QA_TEMPORAL,
    QA_WEIGHTED,
    EstarfmParams,
)

__all__ = [
    "QA_INVALID",
    "QA_NAMES",
    "QA_OUT_OF_RANGE",
    "QA_TEMPORAL",
    "QA_WEIGHTED",
    "EstarfmModel",
    "EstarfmParams",
    "agreement",
    "blend_then_index",
    "coarse_cell_labels",
    "fuse",
    "predict",
    "prepare",
]
