"""The fusion stage's contract: its settings, its output names and the ``fuse`` rule.

:class:`FusionSettings` is config section ``fusion``: the ESTARFM parameters of
:class:`~agrifactory.fusion.params.EstarfmFields` (declared there once, with the
authors' defaults) plus the workflow's keys. :meth:`FusionSettings.estarfm` gives
the :class:`~agrifactory.fusion.params.EstarfmParams` for NDVI. The Snakefile
builds the settings when the workflow is parsed, so a bad value stops
``snakemake -n`` before any job.

Importing this module is cheap (no numba, no rasterio): the run function imports
the compute modules when it runs.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import Field, model_validator

from agrifactory.backend import Backend
from agrifactory.fusion.params import (
    DEFAULT_TILE_BLOCK,
    EstarfmFields,
    EstarfmParams,
    tile_block_fits,
)
from agrifactory.io.files import in_folder
from agrifactory.settings import Settings

#: Files of rule ``fuse`` (keys of its output), in the tile-year's ``fusion`` folder.
FUSE_OUTPUTS: dict[str, str] = {
    "ndvi": "ndvi_8day.tif",
    "flags": "flags.tif",
    "qa": "qa.csv",
    "validation": "validation.csv",
    "validation_flags": "validation_flags.csv",
    "validation_scatter": "validation_scatter.csv",
}

#: Which output of rule ``quality`` (a key of its outputs) each ``fusion.pairs`` takes.
PAIRS_TABLE: dict[str, str] = {"quality": "pairs", "nearest": "nearest_pairs"}


def fuse_outputs(folder: str) -> dict[str, str]:
    """Rule ``fuse``'s outputs in ``folder`` (e.g. a tile-year's ``.../fusion``)."""
    return in_folder(folder, FUSE_OUTPUTS)


FillMethod = Literal["temporal", "regression"]


class FillSettings(Settings):
    """Per-pixel fallbacks after two-pair ESTARFM, each with its own flag (docs/fusion.md,
    "What a pixel gets")."""

    enabled: bool = True
    """Run the fallbacks - single-pair ESTARFM where a pixel is missing in one base, then
    the methods of order; false - only two-pair ESTARFM, as before 2026-12-06."""

    order: list[FillMethod] = ["temporal", "regression"]
    """Methods tried, in this order, on pixels still empty after ESTARFM - temporal
    (interpolation in time between ESTARFM values) and regression (the date's MODIS
    value through the pixel's Landsat-MODIS line); an empty list - none."""

    max_gap_days: Annotated[int, Field(ge=1)] = 32
    """Temporal fill - the predicted values before and after the date may each be at
    most this many days away."""

    min_points: Annotated[int, Field(ge=2)] = 5
    """Regression - least clear Landsat observations (with a MODIS composite) for a
    pixel's own line; with fewer, the line pooled over the window is used."""

    window: Annotated[int, Field(ge=0)] = 5
    """Regression - half size in pixels of the square whose observations are pooled
    for a pixel with too few of its own (0 - no pooling)."""

    @model_validator(mode="after")
    def _each_method_once(self) -> FillSettings:
        if len(set(self.order)) != len(self.order):
            raise ValueError(f"fusion.fill.order names a method twice: {self.order}")
        return self


class FusionSettings(EstarfmFields):
    """ESTARFM fusion of Landsat and MODIS NDVI into 46 8-day images per tile-year
    (docs/fusion.md)."""

    pairs: Literal["quality", "nearest"] = "quality"
    """Which base pairs drive the product - quality-ranked (quality stage) or the nearest
    clear scenes (baseline)."""

    backend: Backend = "auto"
    """Array back end; auto uses CuPy when a GPU is usable, else the compiled CPU kernels."""

    use_quality_mask: bool = True
    """Treat Landsat pixels flagged by the quality stage (haze, bright, cold...) as
    missing in the base images."""

    # The ESTARFM field with the workflow's floor: a statistics window of fewer than 16
    # pixels gives no usable similarity thresholds on real scenes (the library allows
    # small blocks for tests on hand-made arrays).
    block_size: Annotated[
        int, Field(ge=16, description=EstarfmFields.model_fields["block_size"].description)
    ] = EstarfmFields.model_fields["block_size"].default

    tile_block: Annotated[int, Field(ge=16)] | None = DEFAULT_TILE_BLOCK
    """Edge in pixels of the square blocks a tile is fused in, each read with the halo
    its layout needs; bounds memory (docs/scaling.md, Memory), not results. With
    layout 'reference' a multiple of block_size. null - the whole tile at once."""

    fill: FillSettings = FillSettings()
    """Per-pixel fallbacks where two-pair ESTARFM gives no value."""

    validation_stride: Annotated[int, Field(ge=1)] = 2
    """Held-out validation on a systematic sample - every n-th row and column of the
    tile (1 - every pixel); the product does not depend on it."""

    @model_validator(mode="after")
    def _tile_block_holds_blocks(self) -> FusionSettings:
        if not tile_block_fits(self.tile_block, self.block_size, self.layout):
            assert self.tile_block is not None  # None always fits
            fit = max(1, self.tile_block // self.block_size) * self.block_size
            raise ValueError(
                f"fusion.tile_block ({self.tile_block}) must be a multiple of "
                f"fusion.block_size ({self.block_size}) under fusion.layout 'reference', so "
                f"the tile's blocks hold whole ESTARFM blocks (e.g. tile_block {fit})"
            )
        return self

    def estarfm(self) -> EstarfmParams:
        """The ESTARFM parameters for NDVI that these settings give."""
        return EstarfmParams.ndvi(**self.model_dump(include=set(EstarfmFields.model_fields)))


def fuse(job: Any) -> None:
    """Rule ``fuse``: ESTARFM 8-day NDVI for one tile-year, with QA and held-out validation.

    ``job`` is the Snakemake job (``snakemake`` in a rule script): inputs ``landsat``,
    ``modis``, ``pairs``, ``validation_pairs``, ``quality_mask``; outputs
    :data:`FUSE_OUTPUTS`; ``params.fusion`` the config section.
    """
    from agrifactory.backend import job_backend
    from agrifactory.fusion.tile import fuse_tile
    from agrifactory.logs import setup_logging

    setup_logging(job.log[0])
    settings = FusionSettings.build(job.params.fusion, "fusion")
    fuse_tile(
        job.input.landsat,
        job.input.modis,
        job.input.pairs,
        job.input.validation_pairs,
        int(job.wildcards.year),
        dict(job.output.items()),
        settings.estarfm(),
        backend=job_backend(settings.backend, job.resources.get("gpu", 0)),
        quality_mask=job.input.quality_mask if settings.use_quality_mask else None,
        tile_block=settings.tile_block,
        fill=settings.fill if settings.fill.enabled else None,
        validation_stride=settings.validation_stride,
    )
