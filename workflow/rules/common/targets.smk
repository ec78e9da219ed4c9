# What the target `all` asks for, stage by stage, and what the manifest hashes.

from agrifactory.timeseries.rules import composites_outputs

# With an NDVI cube (inputs.ndvi_cube) the run has no scenes: no ingest, quality,
# fusion, tile index over China's provinces, aggregation or report of them.


def tiles_targets():
    return [] if CUBE else rules.tiles.output


def ingest_targets():
    if CUBE:
        return per_tile(in_folder(tile_dir("cube"), CUBE_OUTPUTS)["ndvi"])
    return per_tile(ingest_outputs(tile_dir("ingest"))["inventory"])


def quality_targets():
    return [] if CUBE else per_tile(quality_outputs(tile_dir("quality"))["pairs"])


def fusion_targets():
    return [] if CUBE else per_tile(fuse_outputs(tile_dir("fusion"))["ndvi"])


def timeseries_targets():
    """HANTS features, and the monthly composites where there are scenes (not with a cube)."""
    targets = per_tile(features_outputs(tile_dir("features"))["features"])
    if not CUBE:
        targets += per_tile(composites_outputs(tile_dir("composites"))["monthly"])
    return targets


def classify_targets():
    """Models, class rasters, accuracy, active learning and transfer outputs of the run."""
    if not SAMPLES:
        return []
    if LOO:
        return expand(list(loo_outputs().values()), year=LABEL_YEARS)
    al = CLASSIFY["active_learning"]["product"]
    targets = per_tile(
        f"{tile_dir('classify')}/{classify_rules.CLASSIFY_OUTPUTS['croptype']}"
    )
    for year in YEARS:
        for product in CLASS_PRODUCTS:
            if labelled(product):
                name = classify_rules.ACCURACY_OUTPUTS["areas"]
            else:
                name = classify_rules.ACCURACY_DESIGN_OUTPUTS["design"]
            targets.append(f"{accuracy_dir(year, product)}/{name}")
    for year in LABEL_YEARS:  # these need training samples of the year
        folder = f"{R}/active_learning/{year}"
        targets.append(f"{folder}/{classify_rules.PROPOSALS.format(product=al)}")
        if DEMO:
            plot = classify_rules.SIMULATION_OUTPUTS["plot"].format(product=al)
            targets.append(f"{folder}/{plot}")
        targets.append(f"{R}/report/{year}/{report_rules.MODEL_COMPARISON['page']}")
        if TRANSFER["source"] is not None:
            name = classify_rules.TRANSFER_TABLE.format(**TRANSFER)
            targets.append(f"{R}/transfer/{year}/{name}")
    return targets


def aggregate_targets():
    if CUBE:
        return []
    return expand(f"{R}/aggregate/{{year}}/{aggregate_rules.CONSERVATION}", year=YEARS)


def mosaic_targets():
    return [mosaic_file(y, p) for y in YEARS for p in MOSAIC_PRODUCTS]


def report_targets():
    if CUBE:
        return []
    maps = [quicklook_file(y, p) for y in YEARS for p in MOSAIC_PRODUCTS]
    accuracy = [
        path
        for y in YEARS
        for p in CLASS_PRODUCTS
        if expand(rules.accuracy.output.areas, year=y, product=p)[0]
        in accuracy_tables(y)
        for path in expand(rules.accuracy_table.output, year=y, product=p)
    ]
    soil = expand(rules.sm_report.output.map, year=SM_YEARS) if SM_ON else []
    diagnostics = (
        expand(rules.diagnostics.output.ndvi, year=LABEL_YEARS)
        if DIAGNOSTICS_ON
        else []
    )
    return [
        *diagnostics,
        *maps,
        *accuracy,
        *soil,
        rules.qa_summaries.output,
        rules.headline.output,
        rules.overview_map.output,
        rules.provenance.output,
        rules.stac.output,
    ]


def sm_targets():
    """Soil-moisture products, evaluation and plots (and the demo's truth) when enabled."""
    if not SM_ON:
        return []
    targets = expand(sm_tile_outputs()["calibrated"], tile=TILES, year=SM_YEARS)
    year_files = in_folder(sm_dir(), sm_rules.YEAR_OUTPUTS)
    targets += expand([year_files["evaluation"], year_files["plot"]], year=SM_YEARS)
    if DEMO:
        targets += [SM_DEMO_FILES["truth"], SM_DEMO_FILES["stations_truth"]]
    return targets


def declared_outputs():
    """Every rule's output patterns (a directory()'s with a trailing '/'), sorted: the
    files the manifest may hash (agrifactory.manifest.product_files)."""
    return sorted(
        {
            f"{f}/" if is_flagged(f, "directory") else str(f)
            for r in workflow.rules
            for f in r.output
        }
    )


def product_targets():
    """Every product the run makes, stage by stage: the inputs of rule manifest, which
    therefore runs last and again when a product changes. Rule all asks for the
    manifest alone, so the products are linked to one rule, not two (each input edge
    costs the dry run time: docs/benchmarks.md, All-China dry run)."""
    stages = [
        tiles_targets(),
        ingest_targets(),
        quality_targets(),
        fusion_targets(),
        timeseries_targets(),
        classify_targets(),
        aggregate_targets(),
        report_targets(),
        sm_targets(),
        integration_targets(),
        change_targets(),
        adapt_targets(),
        demo_targets(),
    ]
    return flatten(stages)  # Snakemake's: nested lists and rules' outputs to paths
