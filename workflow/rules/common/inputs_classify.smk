# Input functions of the classification stage; settings, products and output names
# come from its contract (agrifactory.classify.rules), checked when the Snakefile was parsed.

from agrifactory.timeseries.rules import COMPOSITES_OUTPUTS

CLASS_PRODUCTS = list(classify_rules.PRODUCTS)
TILE_REGION = planned(
    tile_regions, TILES, config["grid"]["tile_km"], CLASSIFY["regions"]
)
REGIONS = region_names(TILE_REGION)
TRANSFER = CLASSIFY["transfer"]
for _name in (TRANSFER["source"], TRANSFER["target"]):
    if _name is not None and _name not in REGIONS:
        raise WorkflowError(
            f"agrifactory: classify.transfer region {_name!r} is not among the run's regions {REGIONS}"
        )
#: Leave-one-out accuracy on a small sample instead of the three products.
LOO = CLASSIFY["leave_one_out"]["enabled"]
planned(SETTINGS.classify.check_years, YEARS)
#: Run years with training samples of their own; the others borrow the models of the
#: year classify.models_from names (and adapt the crop-type model: docs/adaptation.md).
LABEL_YEARS = [y for y in YEARS if y not in SETTINGS.classify.models_from]
if not SAMPLES:
    import logging

    logging.getLogger("agrifactory").warning(
        "inputs.samples is not set: the classification rules are left out of 'all'"
    )


def classify_stack(tile, year):
    """The classifiers' inputs of a tile-year: feature stack, HANTS series and (unless
    the NDVI comes from a cube, which has no other bands) the monthly composites."""
    stack = {
        "features": features_outputs(tile_year_dir(tile, year, "features"))["features"],
        "smoothed": smooth_outputs(tile_year_dir(tile, year, "smooth"))["smoothed"],
    }
    if not CUBE:
        folder = tile_year_dir(tile, year, "composites")
        stack["monthly"] = in_folder(folder, COMPOSITES_OUTPUTS)["monthly"]
    return stack


def training_set_inputs(wildcards):
    """Samples plus the feature stack and HANTS series of every tile (named <kind>_<tile>)."""
    inputs = {"samples": SAMPLES}
    for tile in TILES:
        for kind, path in classify_stack(tile, wildcards.year).items():
            inputs[f"{kind}_{tile}"] = path
    return inputs


def loo_outputs(year="{year}"):
    """Rule leave_one_out's outputs, by key (classify_rules.LOO_OUTPUTS)."""
    return in_folder(f"{R}/accuracy/{year}/leave_one_out", classify_rules.LOO_OUTPUTS)


def model_folder(product, region="{region}", year="{year}"):
    """Folder of a product's model, the compared models and reports for one region and year."""
    return f"{R}/models/{product}/{region}/{year}"


def model_dir(product, region, year, name="model"):
    return f"{model_folder(product, region, year)}/{classify_rules.TRAIN_OUTPUTS[name]}"


def train_outputs(product):
    """Rule train_<product>'s outputs (model directories and their reports)."""
    out = classify_rules.train_outputs(
        model_folder(product), product, CLASSIFY[product]
    )
    return {
        key: directory(path) if key == "model" or key.startswith("compare_") else path
        for key, path in out.items()
    }


def validation_reports(wildcards):
    """The crop-type validation report of every region (the model comparison's input)."""
    name = classify_rules.TRAIN_OUTPUTS["validation"]
    return {
        region: f"{model_folder('croptype', region, wildcards.year)}/{name}"
        for region in REGIONS
    }


def accuracy_dir(year="{year}", product="{product}"):
    """Folder of a product's accuracy assessment for one year."""
    return f"{R}/accuracy/{year}/{product}"


def classify_inputs(wildcards):
    """A tile-year's inputs and the models of its region: its own year's, or those of
    the year it borrows from (classify.models_from), the crop-type model adapted to the
    region and year where adapt.maps names one."""
    region = TILE_REGION[wildcards.tile]
    inputs = classify_stack(wildcards.tile, wildcards.year)
    year = SETTINGS.classify.model_year(wildcards.year)
    for product in CLASS_PRODUCTS:
        inputs[product] = model_dir(product, region, year)
    adapted = adapted_model(region, wildcards.year)
    if adapted:
        inputs["croptype"] = adapted
    return inputs


def class_rasters(wildcards, suffix=""):
    """The product's class (or, with suffix '_proba', probability) raster of every tile."""
    name = classify_rules.CLASSIFY_OUTPUTS[f"{wildcards.product}{suffix}"]
    return {
        tile: f"{R}/tiles/{tile}/{wildcards.year}/classify/{name}" for tile in TILES
    }


def labelled(product):
    """Whether a product's accuracy sample gets labels: by the truth in the demo, or
    from classify.accuracy.reference (otherwise only the sample design is drawn)."""
    return DEMO or bool(CLASSIFY["accuracy"]["reference"][product])


def accuracy_reference(wildcards):
    """The labelled stratified sample: the truth labels it in the demo, a person otherwise."""
    if DEMO:
        folder = accuracy_dir(wildcards.year, wildcards.product)
        return f"{folder}/{classify_rules.ACCURACY_REFERENCE}"
    return CLASSIFY["accuracy"]["reference"][wildcards.product]


def simulation_inputs(wildcards):
    inputs = {
        "table": f"{R}/training/{wildcards.year}/{classify_rules.TRAINING_SET_OUTPUTS['table']}",
        "oracle": demo_truth_file(wildcards),
    }
    for tile in TILES:
        for kind, path in classify_stack(tile, wildcards.year).items():
            inputs[f"{kind}_{tile}"] = path
    if wildcards.product == "cropland" and SEMANTIC_ON:
        folder = integration_year_dir(wildcards.year)
        inputs["correctness"] = integration_rules.semantic_outputs(folder)[
            "correctness"
        ]
    return inputs
