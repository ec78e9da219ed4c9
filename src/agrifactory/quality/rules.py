"""The quality stage's contract: settings, output names, the ``quality`` and ``quality_scorer`` rules.

:class:`QualitySettings` is config section ``quality``: the scoring settings of
:class:`~agrifactory.quality.config.ScoringSettings` (calendar, spectral tests,
weights, saturation bands), the base-pair and scorer settings, and the workflow's
own keys. The Snakefile builds it when the workflow is parsed, so a bad value
stops ``snakemake -n`` before any job.

Importing this module is cheap (no PyTorch): the run functions import the compute
modules when they run.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated, Any

from pydantic import Field

from agrifactory.io.files import in_folder
from agrifactory.quality.config import PairSettings, ScorerSettings, ScoringSettings

#: Ingest stacks the stage reads (keys of the rules' inputs, with ``inventory``).
QUALITY_STACKS: tuple[str, ...] = ("red", "nir", "blue", "thermal", "qa_pixel", "qa_radsat")

#: Files of rule ``quality`` (keys of its output), in the tile-year's ``quality`` folder.
QUALITY_OUTPUTS: dict[str, str] = {
    "scores": "scores.csv",
    "mask": "mask.tif",
    "pairs": "pairs.csv",
    "nearest_pairs": "nearest_pairs.csv",
    "validation_pairs": "validation_pairs.csv",
    "quicklook": "quicklook.png",
}

#: Files of rule ``quality_scorer``, in ``models/quality_scorer/<year>``.
SCORER_OUTPUTS: dict[str, str] = {"weights": "scorer.pt", "metrics": "metrics.json"}


def quality_outputs(folder: str) -> dict[str, str]:
    """Rule ``quality``'s outputs in ``folder`` (e.g. a tile-year's ``.../quality``)."""
    return in_folder(folder, QUALITY_OUTPUTS)


def scorer_outputs(folder: str) -> dict[str, str]:
    """Rule ``quality_scorer``'s outputs in ``folder``."""
    return in_folder(folder, SCORER_OUTPUTS)


class QualitySettings(ScoringSettings):
    """Scene quality scores, the learned scorer and base-pair selection (docs/quality.md)."""

    learned_scorer: bool = True
    """Train the CNN scorer (fan-in) and use its score as one factor of every scene's score."""

    scorer_tiles: Annotated[int, Field(ge=1)] = 16
    """Most tiles (evenly spread over the run's tile list) whose clear scenes train the scorer."""

    scorer_weights: str | None = None
    """A trained scorer (scorer.pt of an earlier run, results/models/quality_scorer/<year>/scorer.pt)
    used instead of training one in this run ('{year}' stands for the year). Then the
    quality of a tile depends on its own inputs only, so a changed tile reruns its own
    chain, not every tile's (docs/scaling.md, Incremental rebuilds). null - train the
    scorer in the run."""

    validation_dates: Annotated[int, Field(ge=0)] = 6
    """Clear scenes per tile-year held out to validate the fusion (each predicted from
    pairs chosen without it)."""

    validation_min_clear: Annotated[float, Field(ge=0, le=1)] = 0.8
    """Least clear fraction of a scene to serve as a held-out validation date."""

    pairs: PairSettings = PairSettings()
    """Base-pair selection for the fusion."""

    scorer: ScorerSettings = ScorerSettings()
    """Architecture and training of the learned scorer (seed comes from the top-level seed)."""


def quality(job: Any) -> None:
    """Rule ``quality``: score one tile-year's scenes and choose the fusion's base pairs.

    ``job`` is the Snakemake job: inputs :data:`QUALITY_STACKS`, ``inventory``,
    ``modis`` and optionally ``scorer``; outputs :data:`QUALITY_OUTPUTS`;
    ``params.quality`` the config section.
    """
    from agrifactory.logs import setup_logging
    from agrifactory.quality.tile import quality_tile

    setup_logging(job.log[0])
    settings = QualitySettings.build(job.params.quality, "quality")
    inputs = dict(job.input.items())
    quality_tile(
        {name: inputs[name] for name in QUALITY_STACKS if name in inputs},
        inputs["inventory"],
        inputs["modis"],
        int(job.wildcards.year),
        dict(job.output.items()),
        settings,
        settings.pairs,
        (settings.validation_dates, settings.validation_min_clear),
        scorer_weights=inputs.get("scorer"),
    )


def scorer_tile_inputs(inputs: Mapping[str, str]) -> list[tuple[dict[str, str], str]]:
    """Per tile, its stacks and its inventory, from inputs named ``<tile>_<stack>``."""
    tiles: dict[str, dict[str, str]] = {}
    for key, path in inputs.items():
        tile, name = key.split("_", 1)
        tiles.setdefault(tile, {})[name] = path
    return [
        ({k: v for k, v in files.items() if k in QUALITY_STACKS}, files["inventory"])
        for files in tiles.values()
    ]


def quality_scorer(job: Any) -> None:
    """Rule ``quality_scorer``: train the learned scene scorer on clear patches of several tiles.

    ``job`` is the Snakemake job: inputs ``<tile>_<stack>`` and ``<tile>_inventory``
    per tile; outputs :data:`SCORER_OUTPUTS`; params ``quality`` and ``seed``.
    """
    from agrifactory.logs import setup_logging
    from agrifactory.quality.tile import train_scorer_from_tiles

    setup_logging(job.log[0])
    settings = QualitySettings.build(job.params.quality, "quality")
    outputs = dict(job.output.items())
    train_scorer_from_tiles(
        scorer_tile_inputs(dict(job.input.items())),
        settings,
        settings.scorer,
        outputs["weights"],
        outputs["metrics"],
        seed=job.params.seed,
    )
