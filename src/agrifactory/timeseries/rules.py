"""The time-series stage's contract: settings, output names, the ``smooth``, ``features`` and
``composites`` rules.

:class:`TimeseriesSettings` is config section ``timeseries``; its ``hants`` and
``pheno`` parts are the library's own :class:`~agrifactory.timeseries.hants.HantsParams`
and :class:`~agrifactory.timeseries.features.PhenoSettings`, so every default is
declared once. The Snakefile builds the settings when the workflow is parsed, so a
bad value (``timeseries.hants.n_freq: "three"``) stops ``snakemake -n`` before any job.
"""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import Field

from agrifactory.backend import Backend
from agrifactory.io.files import in_folder
from agrifactory.settings import Settings
from agrifactory.timeseries import DEFAULT_BLOCK_ROWS
from agrifactory.timeseries.features import PhenoSettings
from agrifactory.timeseries.hants import HantsParams

#: Files of rule ``smooth`` (keys of its output), in the tile-year's ``smooth`` folder.
SMOOTH_OUTPUTS: dict[str, str] = {
    "smoothed": "ndvi_hants.tif",
    "qa": "qa.tif",
    "coefficients": "coefficients.tif",
}

#: Files of rule ``features``, in the tile-year's ``features`` folder.
FEATURES_OUTPUTS: dict[str, str] = {"features": "features.tif"}

#: Files of rule ``composites``, in the tile-year's ``composites`` folder: the monthly
#: medians (bands ``monthly_{band}_{MM}``), the clear counts and gap flags (``count_MM``,
#: ``flag_MM``) and the per-month QA table (docs/timeseries.md, Monthly composites).
COMPOSITES_OUTPUTS: dict[str, str] = {
    "monthly": "monthly.tif",
    "counts": "monthly_counts.tif",
    "qa": "qa.csv",
}


def smooth_outputs(folder: str) -> dict[str, str]:
    """Rule ``smooth``'s outputs in ``folder`` (e.g. a tile-year's ``.../smooth``)."""
    return in_folder(folder, SMOOTH_OUTPUTS)


def features_outputs(folder: str) -> dict[str, str]:
    """Rule ``features``'s outputs in ``folder`` (e.g. a tile-year's ``.../features``)."""
    return in_folder(folder, FEATURES_OUTPUTS)


def composites_outputs(folder: str) -> dict[str, str]:
    """Rule ``composites``'s outputs in ``folder`` (e.g. a tile-year's ``.../composites``)."""
    return in_folder(folder, COMPOSITES_OUTPUTS)


class CompositesSettings(Settings):
    """Monthly median composites of the Landsat bands and indices (docs/timeseries.md)."""

    block_rows: Annotated[int, Field(ge=1)] | None = 64
    """Rows of a tile composited at a time; bounds memory (about 1.9 kB per pixel of a
    block with 23 dates in the season, measured), not results. null - the whole tile."""


class TimeseriesSettings(Settings):
    """HANTS smoothing of the fused series and the classification features
    (docs/timeseries.md)."""

    backend: Backend = "auto"
    """Array back end of the batched HANTS solver."""

    block_rows: Annotated[int, Field(ge=1)] | None = DEFAULT_BLOCK_ROWS
    """Rows of a tile smoothed and turned into features at a time; bounds memory
    (docs/scaling.md, Memory), not results. null - the whole tile at once."""

    hants: HantsParams = HantsParams()
    """HANTS parameters (Verhoef 1996; Roerink et al. 2000)."""

    pheno: PhenoSettings = PhenoSettings()
    """Phenology metrics from the HANTS curve."""

    composites: CompositesSettings = CompositesSettings()
    """Monthly median composites (rule composites); their months follow
    season_start_month."""

    season_start_month: Annotated[int, Field(ge=1, le=12)] = 1
    """Month a year's season starts in: 1 - the calendar year; 9 - year 2014 holds the
    dates from September 2013 to August 2014 (a southern summer crop season). Time
    stays in days since 1 January of the year (HANTS is periodic in base_period), and
    the classifiers name the HANTS bands by day of year."""


def _settings(job: Any) -> TimeseriesSettings:
    """The settings from the rule's params: the parts of section ``timeseries`` it takes."""
    params = dict(job.params.items())
    given = {key: params[key] for key in TimeseriesSettings.model_fields if key in params}
    return TimeseriesSettings.build(given, "timeseries")


def smooth(job: Any) -> None:
    """Rule ``smooth``: HANTS-smooth one tile-year of fused NDVI.

    ``job`` is the Snakemake job: input ``fused``, outputs :data:`SMOOTH_OUTPUTS`,
    params ``hants``, ``backend``, ``block_rows`` and, where it is not 1,
    ``season_start_month`` (of config section ``timeseries``; only what the rule uses,
    so a change of ``pheno`` does not rerun it).
    """
    from agrifactory.backend import job_backend
    from agrifactory.logs import setup_logging
    from agrifactory.timeseries.tile import smooth_tile

    setup_logging(job.log[0])
    settings = _settings(job)
    smooth_tile(
        job.input.fused,
        **{key: dict(job.output.items())[key] for key in SMOOTH_OUTPUTS},
        year=int(job.wildcards.year),
        params=settings.hants,
        backend=job_backend(settings.backend, job.resources.get("gpu", 0)),
        block_rows=settings.block_rows,
        season_start_month=settings.season_start_month,
    )


def features(job: Any) -> None:
    """Rule ``features``: the named feature stack (harmonics, monthly medians, phenology).

    ``job`` is the Snakemake job: inputs ``fused`` and ``coefficients`` (of rule
    ``smooth``), output ``features``, params ``hants``, ``pheno``, ``backend``,
    ``block_rows`` and optionally ``season_start_month`` (of section ``timeseries``).
    """
    from agrifactory.backend import job_backend
    from agrifactory.logs import setup_logging
    from agrifactory.timeseries.tile import features_tile

    setup_logging(job.log[0])
    settings = _settings(job)
    features_tile(
        job.input.fused,
        job.input.coefficients,
        features=job.output.features,
        year=int(job.wildcards.year),
        base_period=settings.hants.base_period,
        **settings.pheno.model_dump(),
        backend=job_backend(settings.backend, job.resources.get("gpu", 0)),
        block_rows=settings.block_rows,
        season_start_month=settings.season_start_month,
    )


def composites(job: Any) -> None:
    """Rule ``composites``: monthly medians of one tile-season's clear Landsat observations.

    ``job`` is the Snakemake job: inputs ``landsat_<band>`` (blue, green, red, nir,
    swir1, swir2), ``landsat_ndvi`` (the ingest's, masked) and ``mask`` (the quality
    stage's), outputs :data:`COMPOSITES_OUTPUTS`, params ``composites`` and optionally
    ``season_start_month`` (of section ``timeseries``).
    """
    from agrifactory.logs import setup_logging
    from agrifactory.timeseries.composites import composites_tile

    setup_logging(job.log[0])
    settings = _settings(job)
    composites_tile(
        dict(job.input.items()),
        dict(job.output.items()),
        year=int(job.wildcards.year),
        season_start_month=settings.season_start_month,
        block_rows=settings.composites.block_rows,
    )
