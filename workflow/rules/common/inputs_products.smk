# Input functions of the aggregation and report stages.


def classify_products(wildcards):
    """The class rasters of one tile-year that the aggregation sums."""
    folder = tile_year_dir(wildcards.tile, wildcards.year, "classify")
    return {
        p: f"{folder}/{classify_rules.CLASSIFY_OUTPUTS[p]}"
        for p in config["aggregate"]["products"]
    }


def compared_levels():
    """Levels that have an official statistics table in the config."""
    stats = config["inputs"]["statistics"]
    return [lvl for lvl in config["aggregate"]["levels"] if stats.get(lvl)]


#: Aggregation outputs shown in the report: output key -> caption (workflow/report/).
AGGREGATE_REPORTED = {
    "comparison_html": "comparison_table.rst",
    "summary_html": "comparison_summary.rst",
    "bars": "comparison_bars.rst",
    "scatter": "comparison_scatter.rst",
}


def aggregate_outputs():
    """Rule aggregate's named outputs (agrifactory.aggregate.rules), report ones flagged."""
    out = aggregate_rules.aggregate_outputs(
        f"{R}/aggregate/{{year}}", config["aggregate"]["levels"], compared_levels()
    )
    for level in config["aggregate"]["levels"]:
        out[f"{level}_areas_html"] = report(
            out[f"{level}_areas_html"],
            caption="../report/areas_table.rst",
            category="Areas per unit",
            subcategory=level,
            labels={"level": level, "what": "areas per unit"},
        )
    for level in compared_levels():
        for key, caption in AGGREGATE_REPORTED.items():
            out[f"{level}_{key}"] = report(
                out[f"{level}_{key}"],
                caption=f"../report/{caption}",
                category="Official statistics",
                subcategory=level,
                labels={"level": level, "what": key.replace("_", " ")},
            )
    return out


def accuracy_tables(year):
    """Area estimates of the accuracy assessment, where it runs (demo, or reference labels given)."""
    return [
        f"{accuracy_dir(year, p)}/{classify_rules.ACCURACY_OUTPUTS['areas']}"
        for p in config["aggregate"]["products"]
        if SAMPLES and labelled(p)
    ]


def statistics_file(level, year):
    """The official statistics table of a level for a run year (inputs.statistics)."""
    return SETTINGS.inputs.statistics.path(level, year)


def aggregate_inputs(wildcards):
    inputs = {
        "partials": expand(
            f"{R}/tiles/{{tile}}/{wildcards.year}/aggregate/{aggregate_rules.PARTIAL}",
            tile=TILES,
        ),
        "province": rules.boundaries.output.provinces,
        "county": rules.boundaries.output.counties,
    }
    for level in compared_levels():
        inputs[f"statistics_{level}"] = statistics_file(level, wildcards.year)
    inputs["accuracy"] = accuracy_tables(wildcards.year)
    return inputs


#: The CropLayer pages (output key -> caption in workflow/report/, label) of aggregate_sources.
SOURCES_REPORTED = {
    "sources_html": ("sources_table.rst", "CropLayer table"),
    "sources_summary_html": ("sources_summary.rst", "CropLayer summary"),
}


def sources_outputs():
    """Rule aggregate_sources' named outputs (agrifactory.aggregate.rules), pages flagged."""
    out = aggregate_rules.sources_outputs(f"{R}/aggregate/{{year}}", compared_levels())
    for level in compared_levels():
        for key, (caption, what) in SOURCES_REPORTED.items():
            out[f"{level}_{key}"] = report(
                out[f"{level}_{key}"],
                caption=f"../report/{caption}",
                category="Integration (CropLayer)",
                subcategory=level,
                labels={"level": level, "what": what},
            )
    return out


def aggregate_sources_inputs(wildcards):
    """Every tile's partial table of the maps, the boundaries and the compared levels'
    statistics."""
    inputs = {
        "partials": expand(
            rules.aggregate_sources_tile.output[0], tile=TILES, year=wildcards.year
        ),
        "province": rules.boundaries.output.provinces,
        "county": rules.boundaries.output.counties,
    }
    for level in compared_levels():
        inputs[f"statistics_{level}"] = statistics_file(level, wildcards.year)
    return inputs


#: Mosaicked products and the per-tile file each one is made of (the report's contract).
MOSAIC_PRODUCTS = report_rules.MOSAIC_PRODUCTS


def mosaic_sources(product, year):
    return expand(f"{R}/tiles/{{tile}}/{year}/{MOSAIC_PRODUCTS[product]}", tile=TILES)


def mosaic_file(year="{year}", product="{product}"):
    """Rule mosaic's output (a VRT) of a product and year."""
    return f"{R}/mosaics/{year}/{report_rules.MOSAIC.format(product=product)}"


def quicklook_file(year="{year}", product="{product}"):
    """The quicklook map of a product and year."""
    return f"{R}/report/{year}/{report_rules.QUICKLOOK.format(product=product)}"


#: Rule overview_map's outputs: the map and the simplified provinces of every locator.
OVERVIEW = in_folder(f"{R}/report", report_rules.OVERVIEW)
#: What every map draws around its data: the tiles and the simplified provinces.
MAP_CONTEXT = {"tiles": f"{R}/tiles.gpkg", "provinces": OVERVIEW["provinces"]}

#: Rule qa_summaries' and rule provenance's outputs.
QA_SUMMARIES = in_folder(f"{R}/report/qa", report_rules.QA_SUMMARIES)
PROVENANCE = in_folder(f"{R}/report", report_rules.PROVENANCE)
#: The summary page's outputs (headline figures).
HEADLINE = in_folder(f"{R}/report", report_rules.HEADLINE)


def headline_years():
    """Per year, the product tables the headline figures are read from (the fields of
    agrifactory.report.headline.YearProducts)."""
    out = {}
    for year in YEARS:
        accuracy = {
            p: f"{accuracy_dir(year, p)}/{classify_rules.ACCURACY_OUTPUTS['report']}"
            for p in config["aggregate"]["products"]
            if SAMPLES and labelled(p)
        }
        statistics = {
            level: f"{R}/aggregate/{year}/"
            + aggregate_rules.COMPARED_OUTPUTS["summary"].format(level=level)
            for level in compared_levels()
        }
        transfer = []
        if SAMPLES and TRANSFER["source"] is not None and year in LABEL_YEARS:
            name = classify_rules.TRANSFER_TABLE.format(**TRANSFER)
            transfer.append(f"{R}/transfer/{year}/{name}")
        evaluation = in_folder(sm_dir(year), sm_rules.YEAR_OUTPUTS)["evaluation"]
        out[str(year)] = {
            "accuracy": accuracy,
            "statistics": statistics,
            "soil_moisture": evaluation if SM_ON and year in SM_YEARS else None,
            "transfer": transfer,
        }
    return out


def headline_inputs(wildcards):
    """Every table the headline figures are read from, and the tiles (the extent)."""
    tables = []
    for files in headline_years().values():
        tables += [*files["accuracy"].values(), *files["statistics"].values()]
        tables += [files["soil_moisture"]] if files["soil_moisture"] else []
        tables += files["transfer"]
    return {
        "tables": tables,
        "fusion_qa": QA_SUMMARIES["fusion_table"],
        "hants_qa": QA_SUMMARIES["hants_table"],
        "tiles": rules.tiles.output[0],
    }


def stac_products():
    """Every per-tile file the STAC catalog lists (agrifactory.report.catalog.PRODUCTS):
    inputs of rule stac, so the catalog never depends on which jobs happened to have
    finished."""
    return [
        f"{R}/tiles/{t}/{y}/{path}"
        for t in TILES
        for y in YEARS
        for path in report_rules.TILE_PRODUCTS.values()
    ]


def provenance_inputs(wildcards):
    """Inventories and other inputs whose summary and checksums go into the provenance."""
    inputs = {}
    if STAC:
        inputs["inventories"] = [
            path for year in YEARS for path in checkpoints.acquire.get(year=year).output
        ]
    elif DEMO:
        inputs["inventories"] = expand(list(rules.demo_inventory.output), year=YEARS)
    else:
        inputs["inventories"] = [
            config["inputs"]["landsat_inventory"],
            config["inputs"]["modis_inventory"],
        ]
    statistics = [statistics_file(lvl, y) for lvl in compared_levels() for y in YEARS]
    others = [config["inputs"]["samples"], *statistics]
    inputs["others"] = [p for p in others if p]
    return inputs


#: The NDVI diagnostics need the training set and the scene-based chain (no NDVI cube,
#: no leave-one-out run in place of the training set).
DIAGNOSTICS_ON = bool(SAMPLES) and not CUBE and not LOO


def diagnostics_outputs():
    """Rule diagnostics' outputs for the report: the NDVI and held-out figures; the
    transfer page with a transfer experiment; the active-learning page with the demo's
    simulation."""
    files = in_folder(f"{R}/report/{{year}}", report_rules.DIAGNOSTICS)
    labels = {
        "ndvi": ("diagnostics_ndvi.rst", "NDVI at samples"),
        "heldout": ("diagnostics_heldout.rst", "fused vs observed"),
        "transfer": ("transfer.rst", "transfer"),
        "active_learning": ("active_learning_table.rst", "active learning"),
    }
    keep = ["ndvi", "heldout"] + (
        ["transfer"] if TRANSFER["source"] is not None else []
    )
    keep += ["active_learning"] if DEMO else []
    return {
        key: report(
            files[key],
            caption=f"../report/{labels[key][0]}",
            category="Diagnostics",
            subcategory="{year}",
            labels={"figure": labels[key][1], "year": "{year}"},
        )
        for key in keep
    }


def diagnostics_inputs(wildcards):
    """The training set, every tile's NDVI chain and held-out validation (in TILES
    order) and, where the run has them, the transfer tables and the active-learning
    simulation curve."""
    chain = {
        "landsat": rules.ingest.output.landsat_ndvi,
        "mask": rules.quality.output.mask,
        "fused": rules.fuse.output.ndvi,
        "flags": rules.fuse.output.flags,
        "hants": rules.smooth.output.smoothed,
        "validation_flags": rules.fuse.output.validation_flags,
        "validation_scatter": rules.fuse.output.validation_scatter,
    }
    inputs = {
        key: expand(pattern, tile=TILES, year=wildcards.year)
        for key, pattern in chain.items()
    }
    inputs["training"] = expand(rules.training_set.output.table, year=wildcards.year)[0]
    if TRANSFER["source"] is not None:
        name = classify_rules.TRANSFER_TABLE.format(**TRANSFER)
        inputs["transfer"] = [f"{R}/transfer/{wildcards.year}/{name}"]
    if DEMO:
        curve = classify_rules.SIMULATION_OUTPUTS["curve"].format(
            product=CLASSIFY["active_learning"]["product"]
        )
        inputs["simulation"] = f"{R}/active_learning/{wildcards.year}/{curve}"
    return inputs
