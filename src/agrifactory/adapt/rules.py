"""The adaptation stage's contract: its settings, its output names, one function per rule.

Crop-type mapping without target labels across regions and years (GHCA: Yang, Hu,
Belgiu, Wu, EGU 2026; docs/adaptation.md). A *domain* is a region and a year, named
``<region>_<year>`` (e.g. ``west_2021``). Rules (``workflow/rules/adapt.smk``; active
when ``adapt.cases`` lists a case and ``inputs.samples`` is set):

``adapt_pool``
    Per year: the input stack at ``pool_per_tile`` seeded random pixels of every tile,
    without labels (the target domains' unlabelled pixels).
``adapt``
    Per case (source domain -> target domain): every method of ``methods`` trained on
    the source's labelled training samples and the target's unlabelled pool pixels
    that the source's cropland model calls cropland, for ``seeds`` seeds, scored on
    the target's validation samples (which never reach training); the in-domain
    reference; the GHCA model of the first seed, saved as a classifier that the
    ``classify`` rule can map with (``adapt.maps``).
``adapt_summary``
    Fan-in: every case's scores as mean and s.d. over seeds, the in-domain reference,
    the checks (GHCA within 5 points of in-domain; ahead of every baseline) and the
    ablation, as a table and a report page.

This module imports no heavy library at module level.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Annotated, Any, Literal

from pydantic import BeforeValidator, Field, model_validator

from agrifactory.adapt.settings import AdaptSettings
from agrifactory.errors import ConfigError
from agrifactory.io.files import in_folder
from agrifactory.settings import Settings, none_as_empty

#: A domain's name: ``<region>_<year>``.
DOMAIN = re.compile(r"^(?P<region>[a-z0-9_]+)_(?P<year>\d{4})$")
#: The baselines and GHCA's ablations (the methods of :data:`METHODS`, and LightGBM).
Method = Literal[
    "lightgbm",
    "source_only",
    "augment",
    "adabn",
    "dann",
    "mmd",
    "pseudo_label",
    "ghca",
    "ghca_no_mmd",
    "ghca_no_pseudo",
    "ghca_no_contrastive",
    "ghca_no_filters",
    "ghca_no_shift",
]
#: Baselines GHCA must beat, and its ablations (docs/adaptation.md); ``adabn`` (the
#: network of ``augment`` predicting with the target's BatchNorm statistics) is GHCA
#: without its temporal alignment and its three losses.
BASELINES = ("lightgbm", "source_only", "augment", "dann", "mmd", "pseudo_label")
ABLATIONS = (
    "ghca_no_shift",
    "ghca_no_mmd",
    "ghca_no_pseudo",
    "ghca_no_contrastive",
    "ghca_no_filters",
    "adabn",
)

#: Rule adapt_pool's output, in ``adapt/pool/<year>/``.
POOL = "pool.parquet"
#: Rule adapt's outputs, in ``adapt/<case>/`` (``model`` is a folder).
CASE_OUTPUTS = {"scores": "scores.csv", "reference": "in_domain.csv", "model": "ghca_model"}
#: Rule adapt_summary's outputs, in ``adapt/summary/``.
SUMMARY_OUTPUTS = {
    "table": "summary.csv",
    "checks": "checks.csv",
    "page": "adaptation.html",
}


def domain_parts(name: str, key: str) -> tuple[str, int]:
    """``(region, year)`` of a domain name; a bad name is a :class:`ConfigError` at ``key``."""
    m = DOMAIN.match(name)
    if not m:
        raise ConfigError(f"{key}: {name!r} is not a domain; write <region>_<year>, e.g. west_2021")
    return m["region"], int(m["year"])


class AdaptCase(Settings):
    """One transfer: train on the source domain's labels, map the target domain."""

    source: Annotated[str, Field(pattern=DOMAIN.pattern)]
    """The labelled domain, <region>_<year> (e.g. west_2021)."""

    target: Annotated[str, Field(pattern=DOMAIN.pattern)]
    """The domain without training labels, <region>_<year> (e.g. east_2022)."""

    @property
    def name(self) -> str:
        """``<source>_to_<target>`` (the case's folder and wildcard)."""
        return f"{self.source}_to_{self.target}"

    @model_validator(mode="after")
    def _two_domains(self) -> AdaptCase:
        if self.source == self.target:
            raise ValueError(f"source and target are both {self.source!r}; name two domains")
        return self


class AdaptStageSettings(Settings):
    """Crop type across regions and years without target labels: GHCA and the
    baselines on the same samples, folds and seeds (docs/adaptation.md)."""

    cases: list[AdaptCase] = []
    """The transfers to run; [] - none (the stage is off)."""

    methods: Annotated[list[Method], Field(min_length=1)] = list(Method.__args__)
    """The methods trained in every case: GHCA, its ablations and the baselines."""

    seeds: Annotated[int, Field(ge=1, le=10)] = 3
    """Seeds per method (the top-level seed and the next ones); scores are mean and s.d."""

    features: Annotated[list[str], Field(min_length=1)] = ["hants_doy*"]
    """Glob patterns of the input bands, in order, one channel each (all of a channel's
    dates; missing dates are filled along time); default - the HANTS-smoothed 8-day NDVI
    series. The monthly composites, e.g. [monthly_ndvi_*, monthly_nir_*], need the
    training's time settings in months (docs/adaptation.md)."""

    pool_per_tile: Annotated[int, Field(ge=50)] = 600
    """Unlabelled pixels drawn per tile for the target pools."""

    maps: Annotated[dict[str, str] | None, BeforeValidator(none_as_empty)] = {}
    """Target domain -> source domain: map the target's crop type with the GHCA model
    adapted from that source (the case must be listed), e.g. {east_2022: east_2021}.
    Targets not named here map with the model classify.models_from gives them. null or
    {} - none."""

    training: AdaptSettings = AdaptSettings()
    """The network, the losses' weights, the pseudo-label thresholds and the EMA decay."""

    @property
    def enabled(self) -> bool:
        return bool(self.cases)

    def case(self, name: str) -> AdaptCase:
        """The case of a ``<source>_to_<target>`` name."""
        return next(c for c in self.cases if c.name == name)

    def map_case(self, region: str, year: int) -> AdaptCase | None:
        """The case whose GHCA model maps a region and year (adapt.maps), if any."""
        source = self.maps.get(f"{region}_{int(year)}")
        if source is None:
            return None
        return self.case(f"{source}_to_{region}_{int(year)}")

    def check_run(
        self, regions: Sequence[str], years: Sequence[int], label_years: Sequence[int]
    ) -> None:
        """Every domain is a run region and year, sources are labelled years, and every
        mapped pair is a listed case (checked when the run is planned)."""
        for i, case in enumerate(self.cases):
            for role in ("source", "target"):
                key = f"adapt.cases[{i}].{role}"
                region, year = domain_parts(getattr(case, role), key)
                if region not in regions or year not in years:
                    raise ConfigError(
                        f"{key}: {getattr(case, role)!r} - region must be one of {list(regions)} "
                        f"(classify.regions) and year one of {list(years)} (years)"
                    )
                if role == "source" and year not in label_years:
                    raise ConfigError(
                        f"{key}: {case.source!r} has no training samples "
                        f"({year} borrows its models: classify.models_from)"
                    )
        names = {c.name for c in self.cases}
        for target, source in self.maps.items():
            if f"{source}_to_{target}" not in names:
                raise ConfigError(
                    f"adapt.maps: {target}: {source} - no such case in adapt.cases; "
                    f"add {{source: {source}, target: {target}}} to adapt.cases"
                )


def case_outputs(folder: str) -> dict[str, str]:
    """Rule adapt's outputs in a case's folder (:data:`CASE_OUTPUTS`)."""
    return in_folder(folder, CASE_OUTPUTS)


def summary_outputs(folder: str) -> dict[str, str]:
    """Rule adapt_summary's outputs in its folder (:data:`SUMMARY_OUTPUTS`)."""
    return in_folder(folder, SUMMARY_OUTPUTS)


def section(values: Mapping[str, Any] | None) -> AdaptStageSettings:
    """The ``adapt`` settings from a rule's params."""
    return AdaptStageSettings.build(values, "adapt")


# --- rule entries -------------------------------------------------------------------


def _setup(job: Any) -> None:
    from agrifactory.logs import setup_logging

    setup_logging(job.log[0])


def adapt_pool(job: Any) -> None:
    """Rule adapt_pool: the input stack at seeded random pixels of every tile of a year."""
    from agrifactory.adapt.pool import pool_table
    from agrifactory.grid import job_grid
    from agrifactory.io.tables import write_table

    _setup(job)
    p = job.params
    stacks = {tile: {kind: job.input[f"{kind}_{tile}"] for kind in p.kinds} for tile in p.regions}
    table = pool_table(
        stacks,
        year=int(job.wildcards.year),
        regions=p.regions,
        tile_km=p.tile_km,
        grid=job_grid(p),
        per_tile=int(p.per_tile),
        seed=int(p.seed),
        season_start_month=getattr(p, "season_start_month", 1),
    )
    write_table(table, job.output[0])


def adapt(job: Any) -> None:
    """Rule adapt: every method of one case on the same samples and seeds."""
    from agrifactory.adapt.case import run_adapt_case

    _setup(job)
    settings = section(job.params.adapt)
    run_adapt_case(
        settings.case(job.wildcards.case),
        settings,
        source_table=job.input.source,
        target_table=job.input.target,
        pool=job.input.pool,
        cropland_model=job.input.cropland,
        outputs=dict(job.output.items()),
        seed=int(job.params.seed),
    )


def adapt_summary(job: Any) -> None:
    """Rule adapt_summary: the cases side by side, the checks and the report page."""
    from agrifactory.adapt.summary import write_summary

    _setup(job)
    settings = section(job.params.adapt)
    cases = {
        c.name: (job.input[f"scores_{c.name}"], job.input[f"reference_{c.name}"])
        for c in settings.cases
    }
    write_summary(cases, dict(job.output.items()))
