# Input functions and targets of the integration stage (CropLayer: other cropland
# products, block correctness, the integrated map). On when integration.products lists
# a product and the run has samples (the integration model learns from them).

from agrifactory.integration import rules as integration_rules

INTEGRATION = SETTINGS.integration
INTEGRATION_ON = INTEGRATION.enabled and bool(SAMPLES) and not LOO
#: The block-correctness model needs reference blocks.
SEMANTIC_ON = INTEGRATION_ON and INTEGRATION.reference_blocks is not None
if INTEGRATION_ON:
    planned(INTEGRATION.check_years, YEARS)
if INTEGRATION_ON and not DEMO:  # the demo's products are made by its rules
    from agrifactory.integration.products import check_product

    for _i, _product in enumerate(INTEGRATION.products):
        planned(check_product, _product, f"integration.products[{_i}]")
#: Each tile's classification region as a number (a block feature).
TILE_REGION_CODE = {t: REGIONS.index(r) for t, r in TILE_REGION.items()}


def integration_year_dir(year="{year}"):
    return f"{R}/integration/{year}"


def integration_tile_inputs(wildcards):
    """The files of one tile-year that rule semantic_blocks reads."""
    tile, year = wildcards.tile, wildcards.year
    classify = tile_year_dir(tile, year, "classify")
    inputs = {
        "cropland": f"{classify}/{classify_rules.CLASSIFY_OUTPUTS['cropland']}",
        "proba": f"{classify}/{classify_rules.CLASSIFY_OUTPUTS['cropland_proba']}",
        "provinces": rules.boundaries.output.provinces,
        "samples": SAMPLES,
    }
    if not CUBE:
        inputs["flags"] = fuse_outputs(tile_year_dir(tile, year, "fusion"))["flags"]
        inputs["counts"] = composites_outputs(tile_year_dir(tile, year, "composites"))[
            "counts"
        ]
        inputs["scores"] = quality_outputs(tile_year_dir(tile, year, "quality"))[
            "scores"
        ]
    if INTEGRATION.dem:
        inputs["dem"] = INTEGRATION.dem
    if DEMO:  # the demo's products are made by its rules
        inputs["products"] = rules.demo_products.output
    return inputs


#: The report's category of the stage's pages.
INTEGRATION_CATEGORY = "Integration (CropLayer)"


def integration_year_outputs(outputs, caption, what):
    """A fan-in rule's outputs in the year's folder, its HTML page flagged for the report."""
    out = outputs(integration_year_dir())
    out["page"] = report(
        out["page"],
        caption=f"../report/{caption}",
        category=INTEGRATION_CATEGORY,
        subcategory="{year}",
        labels={"year": "{year}", "what": what},
    )
    return out


def integration_blocks(wildcards):
    return expand(
        integration_rules.blocks_outputs(tile_dir("integration"))["blocks"],
        tile=TILES,
        year=wildcards.year,
    )


def integration_samples(wildcards):
    return expand(
        integration_rules.blocks_outputs(tile_dir("integration"))["samples"],
        tile=TILES,
        year=wildcards.year,
    )


def integration_map_blocks(wildcards):
    return expand(
        integration_rules.integrate_outputs(tile_dir("integration"))["map_blocks"],
        tile=TILES,
        year=wildcards.year,
    )


def integration_oof(wildcards):
    """The cropland model's out-of-fold probabilities of its training samples, per region."""
    name = classify_rules.TRAIN_OUTPUTS["oof"]
    return [f"{model_folder('cropland', r, wildcards.year)}/{name}" for r in REGIONS]


def integration_targets():
    """The integrated maps, the model's accuracy table and, with reference blocks, the
    block correctness."""
    if not INTEGRATION_ON:
        return []
    # The integration model learns from the year's training samples.
    folder = integration_year_dir()
    targets = expand(
        integration_rules.integrate_outputs(tile_dir("integration"))["cropland"],
        tile=TILES,
        year=LABEL_YEARS,
    )
    targets += expand(
        integration_rules.integration_model_outputs(folder)["accuracy"],
        year=LABEL_YEARS,
    )
    if not CUBE:  # the CropLayer table: every map's areas against the statistics
        targets += expand(rules.aggregate_sources.output, year=LABEL_YEARS)
    if SEMANTIC_ON:
        targets += expand(
            integration_rules.semantic_outputs(folder)["raster"], year=LABEL_YEARS
        )
        if DEMO:  # correctness-guided active learning against margin and random
            plot = classify_rules.SIMULATION_OUTPUTS["plot"].format(product="cropland")
            targets += expand(f"{R}/active_learning/{{year}}/{plot}", year=LABEL_YEARS)
    return targets
