"""The ingest stage's contract: its settings, its output names and its rule's run function.

``workflow/rules/ingest.smk`` names its outputs with :func:`ingest_outputs`, the
Snakefile builds :class:`IngestSettings` from the config section ``ingest`` when
the workflow is parsed, and ``scripts/ingest.py`` calls :func:`ingest`. The work
itself is in :mod:`agrifactory.ingest.tile` (imported when the rule runs, so the
workflow's parse stays light).
"""

from __future__ import annotations

from typing import Annotated, Any, Literal, get_args

from pydantic import Field

from agrifactory.io.files import in_folder
from agrifactory.settings import Settings

MaskFlag = Literal["fill", "cloud", "shadow", "snow", "saturated", "hazy", "high_aerosol"]
#: QA flags that can mask Landsat NDVI.
MASK_FLAGS: tuple[str, ...] = get_args(MaskFlag)
#: The flags that mask by default: QA_PIXEL's and QA_RADSAT's, which every scene has.
DEFAULT_MASK: tuple[str, ...] = ("fill", "cloud", "shadow", "snow", "saturated")
#: Flags read from the Level-2 atmosphere bands, and the band of each: Landsat 4-7's
#: SR_ATMOS_OPACITY (> 0.3 is hazy), Landsat 8-9's SR_QA_AEROSOL (aerosol level high).
ATMOSPHERE_BANDS: dict[str, str] = {"hazy": "SR_ATMOS_OPACITY", "high_aerosol": "SR_QA_AEROSOL"}

#: Float stacks of Landsat (spectral name -> units) and the QA stacks (uint16).
LANDSAT_FLOAT = {
    "blue": "reflectance",
    "green": "reflectance",
    "red": "reflectance",
    "nir": "reflectance",
    "swir1": "reflectance",
    "swir2": "reflectance",
    "thermal": "K",
}
#: The reflectance bands; a scene lacking one of them is a QA record (``missing_bands``).
LANDSAT_REFLECTANCE = tuple(n for n, unit in LANDSAT_FLOAT.items() if unit == "reflectance")
LANDSAT_QA = ("QA_PIXEL", "QA_RADSAT")
#: Every band the ingest reads from a Landsat scene (when the scene has it).
LANDSAT_BANDS = (*LANDSAT_FLOAT, *LANDSAT_QA)

#: The date stacks of a tile-year (output name = file stem, ``.tif``).
INGEST_STACKS = (
    *(f"landsat_{name}" for name in LANDSAT_FLOAT),
    *(f"landsat_{name.lower()}" for name in LANDSAT_QA),
    "landsat_ndvi",
    "modis_ndvi",
)
#: The tables of a tile-year: one row per date and sensor, and the QA records of its scenes.
INGEST_TABLES = {"inventory": "inventory.csv", "qa": "qa.csv"}
#: Every output of rule ``ingest``: name -> file name in the tile-year's ``ingest`` folder.
OUTPUTS: dict[str, str] = {**{n: f"{n}.tif" for n in INGEST_STACKS}, **INGEST_TABLES}


def ingest_outputs(folder: str) -> dict[str, str]:
    """Path of every output of rule ``ingest`` in ``folder`` (e.g. ``results/tiles/{tile}/{year}/ingest``)."""
    return in_folder(folder, OUTPUTS)


class IngestSettings(Settings):
    """Warping of scenes onto the tile grid."""

    margin_days: Annotated[int, Field(ge=0)] = 40
    """Scenes this many days before and after the year are ingested too, so the year's
    first and last dates have bracketing pairs."""

    mask: tuple[MaskFlag, ...] = DEFAULT_MASK
    """QA flags that mask Landsat NDVI. 'hazy' (Landsat 4-7: SR_ATMOS_OPACITY above 0.3)
    and 'high_aerosol' (Landsat 8-9: SR_QA_AEROSOL level high) read those bands where a
    scene has them (a scene without the band is not masked by the flag)."""

    resampling: Literal["nearest", "bilinear", "cubic"] = "bilinear"
    """Resampling of Landsat reflectance (QA bands and MODIS always use nearest)."""

    bad_scene: Literal["fail", "skip"] = "fail"
    """What an unreadable scene or composite (missing or truncated file) does to its
    tile's ingest: 'fail' stops the job with an error naming the file; 'skip' records
    it in the tile's QA table (ingest/qa.csv) and ingests the tile without it."""


#: Output of rule ``ndvi_cube`` in the tile-year's ``cube`` folder: the format of the
#: fusion stage's ``ndvi_8day.tif`` (float32, NaN = no data, bands named by date).
CUBE_OUTPUTS = {"ndvi": "ndvi.tif"}


class NdviCubeSettings(Settings):
    """An NDVI time series given as one raster per date on the run's grid (``inputs.ndvi_cube``).

    It replaces ingest, quality and fusion: smoothing reads its stack instead of the
    fused NDVI. The files must be on the grid (grid.crs, grid.origin, grid.fine_res).
    """

    folder: str
    """Folder of the cube's files."""

    pattern: str
    """File name with ``{date}`` (YYYY-MM-DD) in place of the date, e.g.
    'TERRA_MODIS_012010_NDVI_{date}.jp2'."""

    scale: Annotated[float, Field(gt=0)]
    """Factor from the stored values to NDVI (1e-4 for MODIS int16 NDVI x 10000, 1 for
    NDVI stored as is); the files' nodata value becomes NaN. Required: no default, as
    the schema's defaults cannot be filled into an unset (null) inputs.ndvi_cube."""


def ndvi_cube(job: Any) -> None:
    """Rule ``ndvi_cube``: the cube's dates of the tile-year on the tile's grid.

    ``job``: the Snakemake job: params ``cube`` (``inputs.ndvi_cube``), ``files``
    (the dated files, ``[[iso date, path], ...]``), ``tile_km`` and ``grid``; output
    ``ndvi``.
    """
    import datetime as dt
    from pathlib import Path

    from agrifactory.grid import Tile, job_grid
    from agrifactory.ingest.cube import write_cube_stack
    from agrifactory.logs import setup_logging

    setup_logging(job.log[0])
    settings = NdviCubeSettings.build(job.params.cube, "inputs.ndvi_cube")
    tile = Tile.from_id(job.wildcards.tile, job.params.tile_km, job_grid(job.params))
    files = [(dt.date.fromisoformat(d), Path(p)) for d, p in job.params.files]
    write_cube_stack(files, tile.grid(), settings.scale, job.output.ndvi)


def ingest(job: Any) -> None:
    """Rule ``ingest``: one tile-year's scenes warped onto its grid (``job``: the Snakemake job).

    ``job.params`` holds the config section ``ingest``, ``tile_km`` and the
    tile-year's scene records (``landsat``, ``modis``); the outputs are named as in
    :data:`OUTPUTS`.
    """
    from agrifactory.grid import Tile, job_grid
    from agrifactory.ingest.tile import ingest_tile
    from agrifactory.io.inventory import from_records
    from agrifactory.io.remote import remote_reads
    from agrifactory.logs import setup_logging

    setup_logging(job.log[0])
    settings = IngestSettings.build(job.params.ingest, "ingest")
    acquire = getattr(job.params, "acquire", None)
    with remote_reads(remote_policy(acquire)):
        ingest_tile(
            Tile.from_id(job.wildcards.tile, job.params.tile_km, job_grid(job.params)),
            int(job.wildcards.year),
            from_records(job.params.landsat),
            from_records(job.params.modis),
            dict(job.output.items()),
            settings,
            scaling(acquire),
        )


def scaling(acquire: Any) -> Any:
    """The scale and offset where a file gives none: the provider profile's under
    ``inputs.source: stac`` (``acquire`` the config section), else the documented ones."""
    from agrifactory.acquire.rules import AcquireSettings, product_scaling
    from agrifactory.io.scaling import ProductScaling

    if acquire is None:
        return ProductScaling()
    return product_scaling(AcquireSettings.build(acquire, "acquire"))


def remote_policy(acquire: Any) -> Any:
    """How the ingest reads asset URLs: the acquisition's retries, timeout and signing.

    ``acquire`` is the config section ``acquire`` where the inputs come from a STAC
    search, else None (scanned files: the defaults, which apply to no local read).
    """
    from agrifactory.acquire.rules import AcquireSettings
    from agrifactory.io.remote import RemotePolicy

    if acquire is None:
        return RemotePolicy()
    settings = AcquireSettings.build(acquire, "acquire")
    return RemotePolicy(
        retries=settings.retries,
        retry_wait_s=settings.retry_wait_s,
        timeout_s=settings.timeout_s,
        signing=settings.profile().signing,
        cache_dir=settings.cache_dir,
    )
