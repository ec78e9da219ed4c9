# Input functions and targets of the adaptation stage (settings: SETTINGS.adapt,
# contract: agrifactory.adapt.rules).

from agrifactory.adapt import rules as adapt_rules

ADAPT = SETTINGS.adapt
ADAPT_ON = ADAPT.enabled and bool(SAMPLES) and not LOO
if ADAPT_ON:
    planned(ADAPT.check_run, REGIONS, YEARS, LABEL_YEARS)
ADAPT_CASES = [c.name for c in ADAPT.cases]


def adapt_dir(case="{case}"):
    return f"{R}/adapt/{case}"


def adapted_model(region, year):
    """The GHCA model that maps a region and year (adapt.maps), or None."""
    case = ADAPT.map_case(region, year) if ADAPT_ON else None
    return adapt_rules.case_outputs(adapt_dir(case.name))["model"] if case else None


def adapt_pool_inputs(wildcards):
    """The input stack of every tile of the year (named <kind>_<tile>)."""
    return {
        f"{kind}_{tile}": path
        for tile in TILES
        for kind, path in classify_stack(tile, wildcards.year).items()
    }


def adapt_inputs(wildcards):
    """The source's and the target's training tables, the target year's pool and the
    source's cropland model (which picks the pool's crop pixels)."""
    case = ADAPT.case(wildcards.case)
    source_region, source_year = adapt_rules.domain_parts(case.source, "adapt")
    _, target_year = adapt_rules.domain_parts(case.target, "adapt")
    table = rules.training_set.output.table
    return {
        "source": expand(table, year=source_year)[0],
        "target": expand(table, year=target_year)[0],
        "pool": expand(rules.adapt_pool.output[0], year=target_year)[0],
        "cropland": model_dir("cropland", source_region, source_year),
    }


def adapt_summary_outputs():
    """Rule adapt_summary's outputs, the page flagged for the report."""
    out = adapt_rules.summary_outputs(f"{R}/adapt/summary")
    out["page"] = report(
        out["page"],
        caption="../report/adaptation.rst",
        category="Adaptation (GHCA)",
        labels={"what": "target accuracy per case and method"},
    )
    return out


def adapt_targets():
    """Every case's scores and the summary page (none without cases)."""
    if not ADAPT_ON:
        return []
    return [rules.adapt_summary.output.page]
