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

from typing import Annotated, Any, Literal

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

    def check_years(self, run_years: list[int]) -> None:
        """Every product within ``max_year_offset`` of every run year (ConfigError naming
        the product's key and what to do)."""
        from agrifactory.errors import ConfigError

        for i, product in enumerate(self.products):
            far = sorted(y for y in run_years if abs(y - product.year) > self.max_year_offset)
            if far:
                raise ConfigError(
                    f"integration.products[{i}].year = {product.year} is more than "
                    f"integration.max_year_offset = {self.max_year_offset} years from the "
                    f"run's year(s) {far}: use an edition of '{product.name}' within "
                    f"{self.max_year_offset} year(s) of them, leave it out of this run, or "
                    "raise integration.max_year_offset"
                )

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
    "page": "correctness.html",
    "model": "correctness_model.txt",
}
#: Files of rule ``integration_model``, in the year's ``integration`` folder.
INTEGRATION_MODEL_OUTPUTS: dict[str, str] = {
    "model": "integration_model.txt",
    "accuracy": "accuracy.csv",
    "importance": "importance.csv",
    "page": "accuracy.html",
}
#: Files of rule ``integrate``, in the tile-year's ``integration`` folder.
INTEGRATE_OUTPUTS: dict[str, str] = {
    "cropland": "integrated.tif",
    "proba": "integrated_proba.tif",
    "maps": "maps.tif",
    "map_blocks": "map_blocks.parquet",
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


# --- rules -----------------------------------------------------------------------


def _settings(job: Any) -> IntegrationSettings:
    from agrifactory.logs import setup_logging

    setup_logging(job.log[0])
    return IntegrationSettings.build(job.params.integration, "integration")


def _lattice(tile: Any, settings: IntegrationSettings) -> Any:
    from agrifactory.integration.blocks import BlockLattice

    grid = tile.grid()
    return BlockLattice(grid, round(settings.block_m / grid.res))


def semantic_blocks(job: Any) -> None:
    """Rule ``semantic_blocks``: one tile-year's sources, block features and sample values."""
    from agrifactory.grid import Tile, job_grid
    from agrifactory.integration import tile as it
    from agrifactory.io.raster import write_raster
    from agrifactory.io.tables import write_table

    settings = _settings(job)
    tile = Tile.from_id(job.wildcards.tile, job.params.tile_km, job_grid(job.params))
    year = int(job.wildcards.year)
    lattice = _lattice(tile, settings)
    grid = lattice.grid
    inputs = it.TileInputs(**{k: job.input.get(k) for k in it.TileInputs.__dataclass_fields__})
    fractions, qa = it.source_fractions(settings, grid, year)
    factory = it.read_band(inputs.cropland, "cropland")
    proba = it.read_band(inputs.proba, it.PROBA_BAND)
    groups = [
        it.iqa_features(lattice, inputs, year),
        it.geography_features(lattice, settings.dem),
    ]
    table = it.block_table(
        tile, lattice, factory, proba, fractions, groups, inputs.provinces, job.params.region
    )
    import numpy as np

    write_raster(
        job.output.sources,
        np.stack(list(fractions.values())).astype(np.float32),
        transform=grid.transform,
        crs=grid.crs,
        nodata=np.nan,
        band_names=list(fractions),
        units="cropland fraction",
    )
    write_table(table, job.output.blocks)
    samples = it.sample_table(inputs.samples, grid, lattice, tile.id, factory, proba, fractions)
    write_table(samples, job.output.samples)
    write_table(qa, job.output.qa)


def _read_all(paths: Any, what: str) -> Any:
    import pandas as pd

    from agrifactory.io.tables import read_table

    tables = [read_table(p, what, "rerun rule semantic_blocks") for p in paths]
    return pd.concat(tables, ignore_index=True)


def semantic_model(job: Any) -> None:
    """Rule ``semantic_model``: how likely each block of every map is right, learnt from
    the reference blocks."""
    import geopandas as gpd

    from agrifactory.grid import GridSpec
    from agrifactory.integration import models, pages
    from agrifactory.integration.raster_out import write_block_raster
    from agrifactory.io.tables import write_table

    settings = _settings(job)
    spec = GridSpec.from_config(job.params.grid)
    blocks = _read_all(job.input.blocks, "block table")
    rows = models.map_rows(blocks, _read_all(job.input.map_blocks, "map block table"))
    reference = gpd.read_file(job.input.reference, layer="blocks")
    labels = models.reference_labels(reference, blocks, spec.origin, settings.block_m, spec.crs)
    labelled = models.label_rows(rows, labels, settings.correct_tolerance)
    booster, metrics, p = models.fit_correctness(labelled, rows, settings.model, settings.seed)
    ids = ["block_id", "map", "tile", "row", "col", "bx", "by", "x", "y", "map_fraction"]
    out = rows[ids].assign(p_correct=p)
    out = out.merge(
        labelled[["block_id", "map", "reference_fraction", "split", "correct"]],
        on=["block_id", "map"],
        how="left",
    )
    write_table(out, job.output.correctness)
    write_table(metrics, job.output.metrics)
    pages.correctness_page(metrics, out, settings, job.output.page)
    write_block_raster(out, "p_correct", spec, settings.block_m, job.output.raster)
    booster.save_model(job.output.model)
    _log_metrics("block correctness", metrics)


def _log_metrics(what: str, table: Any) -> None:
    import logging

    for rec in table.to_dict("records"):
        logging.getLogger(__name__).info("%s: %s", what, rec)


def integration_model(job: Any) -> None:
    """Rule ``integration_model``: the per-pixel model and every map's accuracy."""
    from agrifactory.integration import models, pages
    from agrifactory.io.tables import write_table

    settings = _settings(job)
    names = [p.name for p in settings.products]
    blocks = _read_all(job.input.blocks, "block table")
    samples = _read_all(job.input.samples, "sample table")
    oof = _read_all(job.input.oof, "out-of-fold table")
    train = models.with_out_of_fold(samples[samples["split"] == "train"], oof)
    test = samples[samples["split"] == "validation"]
    X = models.pixel_frame(train, blocks, names)
    booster = models.train_binary(
        X,
        train["label"].to_numpy(),
        settings.model,
        settings.seed,
        increasing=models.increasing_columns(X.columns),
    )
    votes = models.source_votes(test, names)
    answers = {
        **votes,
        "majority": models.majority_vote(votes, tie=votes["factory"]),
        "integrated": (
            models.predict(booster, models.pixel_frame(test, blocks, names)) >= 0.5
        ).astype(float),
    }
    accuracy = models.source_accuracy(test, answers)
    importance = models.importance_table(booster)
    write_table(accuracy, job.output.accuracy)
    write_table(importance, job.output.importance)
    pages.accuracy_page(accuracy, importance, len(train), job.output.page)
    booster.save_model(job.output.model)
    _log_metrics("validation samples", accuracy)


def integrate(job: Any) -> None:
    """Rule ``integrate``: one tile-year's integrated map, the other maps, contributions."""
    import lightgbm as lgb
    import numpy as np

    from agrifactory import legend
    from agrifactory.grid import Tile, job_grid
    from agrifactory.integration import predict as ip
    from agrifactory.integration.tile import PROBA_BAND, read_band
    from agrifactory.io.raster import read_raster, write_raster
    from agrifactory.io.tables import read_table, write_table

    settings = _settings(job)
    tile = Tile.from_id(job.wildcards.tile, job.params.tile_km, job_grid(job.params))
    lattice = _lattice(tile, settings)
    grid = lattice.grid
    factory = read_band(job.input.cropland, "cropland")
    proba = read_band(job.input.proba, PROBA_BAND)
    stack, meta = read_raster(job.input.sources)
    fractions = dict(zip(meta["descriptions"], stack, strict=True))
    blocks = read_table(job.input.blocks, "block table", "rerun rule semantic_blocks")
    booster = lgb.Booster(model_file=str(job.input.model))
    classes, p, maps = ip.integrate_tile(booster, factory, proba, fractions, blocks, lattice)
    geo = {"transform": grid.transform, "crs": grid.crs}
    write_raster(
        job.output.cropland,
        classes,
        **geo,
        nodata=legend.NODATA,
        band_names=["cropland"],
        units="class",
        tags={f"class_{k}": v for k, v in legend.CROPLAND.items()},
    )
    write_raster(
        job.output.proba, p, **geo, nodata=np.nan, band_names=["p_cropland"], units="probability"
    )
    write_raster(
        job.output.maps,
        np.stack(list(maps.values())),
        **geo,
        nodata=legend.NODATA,
        band_names=list(maps),
        units="class",
    )
    table = ip.contribution_table(booster, proba, fractions, blocks, lattice, maps)
    write_table(table.assign(tile=tile.id), job.output.contribution)
    per_block = ip.map_block_fractions(maps, lattice, blocks["block_id"].to_numpy())
    write_table(per_block, job.output.map_blocks)
