"""The integration stage's contract: its settings, its output names, one function per rule.

CropLayer (Jiang et al., ESSD) makes one cropland map out of several, and says block by
block how far to trust it. Rules (``workflow/rules/integration.smk``; active when
``integration.products`` lists at least one product and ``inputs.samples`` is set):

``semantic_blocks``
    Per tile-year: every listed product warped onto the tile's 30 m grid as cropland
    fractions (``sources.tif``), the features of every block of the tile (IQA,
    geography, regional property, consistency) and the values of the sample points
    that fall in the tile.
``semantic_model``
    Fan-in per year: a LightGBM model of whether each block of the factory's cropland
    map is right, trained on the reference blocks' training split and scored on the
    held-out ones; the per-block correctness probability as a table and a raster.
``integration_model``
    Fan-in per year: a per-pixel LightGBM model on all sources' values and the four
    feature groups, trained on the cropland training samples; accuracy of every source,
    the majority vote and the integrated map on the held-out validation samples.
``integrate``
    Per tile-year: the integrated cropland class and probability COGs, the majority
    vote and every source as a class map (for the areas), and the source-contribution
    table.

CropLayer used XGBoost; the factory's gradient-boosting library is LightGBM, which
grows the same kind of trees. This module imports no heavy library at module level.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, model_validator

from agrifactory.io.files import in_folder
from agrifactory.settings import Settings

#: How a product's files are laid out (docs/integration.md).
Layout = Literal["worldcover", "clcd", "geotiff"]


class LegendSettings(Settings):
    """Which of a product's class codes are cropland, not cropland, or no data."""

    cropland: Annotated[list[int], Field(min_length=1)]
    """Codes that mean cropland."""

    other: list[int] = []
    """Codes that mean land that is not cropland."""

    nodata: list[int] = []
    """Codes that mean no observation (outside the product, clouds, fill)."""

    @model_validator(mode="after")
    def _codes_once(self) -> LegendSettings:
        seen: dict[int, str] = {}
        for group in ("cropland", "other", "nodata"):
            for code in getattr(self, group):
                if code in seen:
                    raise ValueError(
                        f"legend code {code} is listed under both '{seen[code]}' and "
                        f"'{group}': give each code one meaning"
                    )
                seen[code] = group
        return self


class ProductSettings(Settings):
    """One cropland (or land-cover) product to integrate with the factory's own map."""

    name: Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]*$")]
    """Short name (lower case, digits, '_'): the band name in sources.tif and the column
    name in every table."""

    layout: Layout = "geotiff"
    """'worldcover': a folder of ESA WorldCover 3 x 3 degree tiles
    (ESA_WorldCover_10m_<year>_v<version>_<N|S><lat><E|W><lon>_Map.tif); 'clcd': a
    folder of CLCD per-province GeoTIFFs (CLCD_v01_<year>_albert_<province>.tif);
    'geotiff': a file or a glob of GeoTIFFs."""

    path: str
    """Folder (worldcover, clcd) or file or glob (geotiff)."""

    year: Annotated[int, Field(ge=1980, le=2100)]
    """The year the product maps. A file whose name or 'year' tag says another year is
    refused; a product further than integration.max_year_offset from the run's year too."""

    legend: LegendSettings
    """Class codes of the product: cropland, other, nodata. A code found in the data and
    not listed stops the job, naming the file and the code."""

    resolution_m: Annotated[float, Field(gt=0)] | None = None
    """Native pixel size in metres. Required for a product in a geographic CRS (degrees
    give no metres); for a projected one it is read from the file when not given."""


class BlockModelSettings(Settings):
    """The LightGBM models of the stage (block correctness and per-pixel integration)."""

    num_boost_round: Annotated[int, Field(ge=1)] = 200
    """Boosting rounds."""

    learning_rate: Annotated[float, Field(gt=0, le=1)] = 0.05
    """Shrinkage per round."""

    num_leaves: Annotated[int, Field(ge=2)] = 15
    """Leaves per tree."""

    min_data_in_leaf: Annotated[int, Field(ge=1)] = 5
    """Least samples in a leaf."""


class IntegrationSettings(Settings):
    """Multi-source cropland integration and block-level semantic correctness
    (CropLayer; docs/integration.md). Off while products is empty."""

    products: list[ProductSettings] = []
    """Other cropland products to integrate (ESA WorldCover, CLCD, GFSAD30, ...)."""

    block_m: Annotated[int, Field(ge=30)] = 1500
    """Edge of the square blocks in metres (CropLayer used about 2 km). Must divide the
    tile edge and be a multiple of the 30 m pixel; 1500 divides every tile edge (a
    multiple of 3 km)."""

    reference_blocks: str | None = None
    """GeoPackage of reference blocks (layer 'blocks'): polygons with the interpreted
    cropland fraction (column cropland_fraction, 0-1) and split (train | validation).
    Without it there is no block-correctness model."""

    correct_tolerance: Annotated[float, Field(gt=0, lt=1)] = 0.05
    """A block of the factory's map is correct when its cropland fraction is within
    this (absolute) of the reference block's."""

    max_year_offset: Annotated[int, Field(ge=0)] = 1
    """Largest difference in years between a product and the run's year."""

    dem: str | None = None
    """Elevation raster (metres, any CRS) for the geography features; without it they
    are NaN."""

    model: BlockModelSettings = BlockModelSettings()
    """The LightGBM models of the stage."""

    seed: int = 0
    """Seed of the models and of the split of the samples into folds."""

    @model_validator(mode="after")
    def _names_once(self) -> IntegrationSettings:
        names = [p.name for p in self.products]
        dupes = sorted({n for n in names if names.count(n) > 1})
        if dupes:
            raise ValueError(f"integration.products: names used twice: {dupes}")
        reserved = sorted(set(names) & set(RESERVED_SOURCES))
        if reserved:
            raise ValueError(
                f"integration.products: {reserved} are the factory's own names; rename them"
            )
        if self.block_m % 30:
            raise ValueError(f"integration.block_m ({self.block_m}) is not a multiple of 30 m")
        return self

    @property
    def enabled(self) -> bool:
        """Whether the stage runs (at least one product listed)."""
        return bool(self.products)


#: Source names the factory itself uses in the tables.
RESERVED_SOURCES = ("factory", "majority", "integrated")


# --- output names ----------------------------------------------------------------

#: Files of rule ``semantic_blocks``, in the tile-year's ``integration`` folder.
BLOCKS_OUTPUTS: dict[str, str] = {
    "sources": "sources.tif",
    "blocks": "blocks.parquet",
    "samples": "samples.parquet",
    "qa": "qa.csv",
}
#: Files of rule ``semantic_model``, in the year's ``integration`` folder.
SEMANTIC_OUTPUTS: dict[str, str] = {
    "correctness": "correctness.csv",
    "raster": "correctness.tif",
    "metrics": "correctness_metrics.csv",
    "model": "correctness_model.txt",
}
#: Files of rule ``integration_model``, in the year's ``integration`` folder.
INTEGRATION_MODEL_OUTPUTS: dict[str, str] = {
    "model": "integration_model.txt",
    "accuracy": "accuracy.csv",
    "importance": "importance.csv",
}
#: Files of rule ``integrate``, in the tile-year's ``integration`` folder.
INTEGRATE_OUTPUTS: dict[str, str] = {
    "cropland": "integrated.tif",
    "proba": "integrated_proba.tif",
    "maps": "maps.tif",
    "contribution": "contribution.csv",
}


def blocks_outputs(folder: str) -> dict[str, str]:
    """Rule ``semantic_blocks``' outputs in ``folder``."""
    return in_folder(folder, BLOCKS_OUTPUTS)


def semantic_outputs(folder: str) -> dict[str, str]:
    """Rule ``semantic_model``'s outputs in ``folder``."""
    return in_folder(folder, SEMANTIC_OUTPUTS)


def integration_model_outputs(folder: str) -> dict[str, str]:
    """Rule ``integration_model``'s outputs in ``folder``."""
    return in_folder(folder, INTEGRATION_MODEL_OUTPUTS)


def integrate_outputs(folder: str) -> dict[str, str]:
    """Rule ``integrate``'s outputs in ``folder``."""
    return in_folder(folder, INTEGRATE_OUTPUTS)
