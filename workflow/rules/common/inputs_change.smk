# Input functions and targets of the year-to-year change stage (settings:
# SETTINGS.change, contract: agrifactory.change.rules).

from agrifactory.change import rules as change_rules

CHANGE = SETTINGS.change
#: Class rasters exist where the classification runs (samples, not leave-one-out) and
#: provinces to count them in where the run has scenes (as for the aggregation).
CHANGE_ON = bool(SAMPLES) and not LOO and not CUBE


def change_years():
    """Run years whose previous year is a run year."""
    return [y for y in YEARS if y - 1 in YEARS] if CHANGE_ON else []


def change_year_dir(year="{year}"):
    return f"{R}/change/{year}"


def change_tile_inputs(wildcards):
    """This year's and the previous year's class rasters of the tile, the boundaries."""
    year = int(wildcards.year)
    if year - 1 not in YEARS:
        raise WorkflowError(
            f"agrifactory: change of {year} needs the previous year {year - 1} among the "
            f"run's years {YEARS}"
        )
    inputs = {}
    for product in CHANGE.products:
        name = classify_rules.CLASSIFY_OUTPUTS[product]
        inputs[product] = f"{tile_year_dir(wildcards.tile, year, 'classify')}/{name}"
        inputs[f"previous_{product}"] = (
            f"{tile_year_dir(wildcards.tile, year - 1, 'classify')}/{name}"
        )
    inputs["provinces"] = rules.boundaries.output.provinces
    inputs["counties"] = rules.boundaries.output.counties
    return inputs


def change_tile_files():
    return change_rules.tile_outputs(tile_dir("change"), CHANGE.products)


def change_outputs():
    """Rule change's named outputs, the page flagged for the report."""
    out = change_rules.year_outputs(
        change_year_dir(), CHANGE.products, config["aggregate"]["levels"]
    )
    out["page"] = report(
        out["page"],
        caption="../report/change_transitions.rst",
        category="Year-to-year change",
        subcategory="{year}",
        labels={"year": "{year}", "what": "transitions"},
    )
    return out


def change_inputs(wildcards):
    files = change_tile_files()
    return {
        "partials": expand(files["partial"], tile=TILES, year=wildcards.year),
        "flags": expand(files["flags"], tile=TILES, year=wildcards.year),
        "province": rules.boundaries.output.provinces,
        "county": rules.boundaries.output.counties,
    }


def change_targets():
    """The change rasters of every tile and the year's tables of every change year."""
    years = change_years()
    if not years:
        return []
    rasters = [change_tile_files()[p] for p in CHANGE.products]
    targets = expand(rasters, tile=TILES, year=years)
    return targets + expand(rules.change.output.page, year=years)
