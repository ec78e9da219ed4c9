"""The classification stage's contract: its settings, its output names and one entry
per rule.

* :class:`ClassifySettings` is the config section ``classify`` (types, ranges,
  defaults and descriptions, written once here).
* ``*_OUTPUTS`` name the rules' files; ``workflow/rules/classify.smk`` and
  ``workflow/rules/common/`` import them (:func:`agrifactory.io.files.in_folder` prefixes a folder).
* :func:`training_set`, :func:`train`, :func:`classify`, :func:`accuracy_design`,
  :func:`accuracy_reference_demo`, :func:`accuracy`, :func:`active_learning`,
  :func:`active_learning_simulation` and :func:`transfer` take the Snakemake job
  (``.input``, ``.output``, ``.params``, ``.wildcards``, ``.log``, ``.threads``), build
  the settings from its params, read, call the compute modules and write through
  :mod:`agrifactory.io`.

The workflow imports this module when it is parsed: nothing heavy (PyTorch,
LightGBM, scikit-learn, GDAL) is imported at module level, only inside the entries.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Annotated, Any, Literal

from pydantic import BeforeValidator, Field, model_validator

from agrifactory.classify.legend import PRODUCTS
from agrifactory.errors import ConfigError
from agrifactory.feature_bands import PHENOLOGY_METRICS
from agrifactory.grid import job_grid
from agrifactory.settings import Settings, none_as_empty

ModelKind = Literal["lightgbm", "svm", "cnn1d", "cnn2d", "ensemble"]

# --- output names -----------------------------------------------------------------

#: Rule ``training_set`` (folder ``training/{year}``).
TRAINING_SET_OUTPUTS = {"table": "training_set.parquet", "excluded": "excluded.csv"}
#: Rules ``train_<product>`` (folder ``models/{product}/{region}/{year}``): the model
#: directory, the validation report (every model's rows), the cropland model's
#: out-of-fold probabilities of its training samples (classify.oof), the irrigation
#: model's Jeffries-Matusita table and, for crop type, one directory per compared model
#: (``compare/<name>``, key ``compare_<name>``; :func:`train_outputs`).
TRAIN_OUTPUTS = {
    "model": "model",
    "validation": "validation.csv",
    "oof": "oof.csv",
    "separability": "separability.csv",
    "compare": "compare/{name}",
}
#: Rule ``classify`` (folder ``tiles/{tile}/{year}/classify``): class and probability
#: rasters per product.
CLASSIFY_OUTPUTS = {
    key: f"{key}.tif" for product in PRODUCTS for key in (product, f"{product}_proba")
}
#: Rule ``accuracy_design`` (folder ``accuracy/{year}/{product}``).
ACCURACY_DESIGN_OUTPUTS = {"design": "design.gpkg", "mapped": "mapped_area.csv"}
#: Rule ``accuracy_reference_demo`` (same folder): the design labelled by the truth.
ACCURACY_REFERENCE = "reference.gpkg"
#: Rule ``accuracy`` (same folder); ``areas`` is what the aggregation stage reads.
ACCURACY_OUTPUTS = {
    "report": "report.csv",
    "confusion_validation": "confusion_validation.csv",
    "confusion_stratified": "confusion_stratified.csv",
    "areas": "areas.csv",
}
#: Rules ``active_learning`` and ``active_learning_simulation`` (folder
#: ``active_learning/{year}``), per product.
PROPOSALS = "{product}_proposals.gpkg"
SIMULATION_OUTPUTS = {
    "curve": "{product}_simulation.csv",
    "plot": "{product}_simulation.png",
}
#: Rule ``transfer`` (folder ``transfer/{year}``).
TRANSFER_TABLE = "croptype_{source}_to_{target}.csv"
#: Rule ``leave_one_out`` (folder ``accuracy/{year}/leave_one_out``).
LOO_OUTPUTS = {
    "predictions": "predictions.csv",
    "report": "report.csv",
    "excluded": "excluded.csv",
}


# --- settings -----------------------------------------------------------------------


class LabelColumns(Settings):
    """The sample column that holds each product's labels (class names of
    agrifactory.legend or their codes)."""

    cropland: str = "cropland"
    """Labels 'cropland' / 'other'."""

    irrigation: str = "irrigation"
    """Labels 'irrigated' / 'rainfed' (empty outside cropland)."""

    croptype: str = "croptype"
    """Crop names (empty outside cropland)."""


class SampleSettings(Settings):
    """How to read the labelled sample points (inputs.samples)."""

    id_column: str = "sample_id"
    """Column with a unique id per point."""

    label_columns: LabelColumns = LabelColumns()
    """The sample column that holds each product's labels (class names of
    agrifactory.legend or their codes)."""

    split_column: str | None = "split"
    """Column with 'train' / 'validation' per point; the validation points are held out
    of training and score the models and the maps. null - a seeded stratified random
    share (validation_fraction) of each region's samples is held out instead (strata -
    region and the most specific label)."""

    validation_fraction: Annotated[float, Field(gt=0, lt=1)] = 0.3
    """Held-out share per class when split_column is null."""


class CroplandModel(Settings):
    """The cropland vs other model."""

    kind: ModelKind = "lightgbm"
    """Model kind."""

    features: list[str] | None = None
    """Glob patterns of the input bands (features.tif names and hants_doyNNN); null - all."""

    params: dict[str, Any] = {}
    """Model parameters that differ from the library defaults (docs/classification.md)."""


class IrrigationModel(Settings):
    """The irrigated vs rainfed model, inside cropland (Chen et al. 2021)."""

    kind: ModelKind = "svm"
    """Model kind (RBF SVM on standardised features)."""

    features: list[str] | None = ["hants_*", *PHENOLOGY_METRICS]
    """The HANTS-smoothed 8-day NDVI series and the phenology metrics."""

    params: dict[str, Any] = {}
    """Model parameters that differ from the library defaults."""

    reselect_below: Annotated[float, Field(ge=0, le=2)] | None = 1.8
    """Class pairs whose Jeffries-Matusita distance is below this get their ambiguous
    training samples set aside (recorded in the model's metrics); null - never."""


class CompareModel(Settings):
    """A model trained on the product's training samples and scored on its validation
    samples beside the product's model (not mapped)."""

    name: Annotated[str, Field(pattern=r"^[a-z0-9_]+$")] | None = None
    """Its name in the reports and its folder compare/<name>; null - its kind."""

    kind: ModelKind = "lightgbm"
    """Model kind."""

    features: list[str] | None = None
    """Input bands; null - all."""

    params: dict[str, Any] = {}
    """Model parameters that differ from the library defaults."""

    @property
    def label(self) -> str:
        """The model's name (its kind unless named)."""
        return self.name or self.kind


class CroptypeModel(Settings):
    """The crop-type model (inside cropland) and the models compared with it."""

    kind: ModelKind = "ensemble"
    """Model kind of the product. By default the mean probability of LightGBM on every
    feature and the 2-D CNN on the monthly composites (the ensemble's default members;
    set them in params.members): on the demo's training split (5-fold CV per region, two
    fold draws, benchmarks/eval_croptype_cv.py, docs/classification.md) OA 0.893 and 0.895,
    against 0.883 and 0.870 for LightGBM alone and 0.855 and 0.839 for the 2-D CNN."""

    features: list[str] | None = None
    """Input bands of the product's model; null - all (HANTS features and series, the
    monthly composites). The CNNs need their own: cnn1d ['ndvi_med_*'], cnn2d ['monthly_*']."""

    params: dict[str, Any] = {}
    """Model parameters that differ from the library defaults."""

    compare: list[CompareModel] = [
        CompareModel(kind="lightgbm"),
        CompareModel(kind="cnn1d", features=["ndvi_med_*"]),
        CompareModel(kind="cnn2d", features=["monthly_*"]),
    ]
    """Models trained on the same training samples and scored on the same validation
    samples as the product's model, each in the validation report and the accuracy
    report's model comparison (not mapped). Default: LightGBM on every feature, the 1-D
    CNN on the monthly-median NDVI and the 2-D CNN on the monthly composites. An entry
    named like the product's model (by default its kind) is left out: the product's
    model stands for it. [] - none."""

    @model_validator(mode="after")
    def _distinct_names(self) -> CroptypeModel:
        names = [m.label for m in self.compare]
        twice = sorted({n for n in names if names.count(n) > 1})
        if twice:
            raise ValueError(
                f"classify.croptype.compare: the names {twice} are given twice; set a "
                "distinct 'name' for each"
            )
        return self

    def comparisons(self) -> list[CompareModel]:
        """The compared models, less the one named like the product's model."""
        return [m for m in self.compare if m.label != self.kind]


class PredictSettings(Settings):
    """Per-tile prediction."""

    block_rows: Annotated[int, Field(ge=1)] = 512
    """Rows of a tile read and classified at a time (bounds memory)."""


class ReferenceSamples(Settings):
    """Labelled stratified samples (the written design with its 'label' column filled
    in) per product. Ignored in the demo, where the truth labels the design. Without
    one, a real run writes the design to label and skips the accuracy rule."""

    cropland: str | None = None
    """Labelled design of the cropland product."""

    irrigation: str | None = None
    """Labelled design of the irrigation product."""

    croptype: str | None = None
    """Labelled design of the crop-type product."""


class AccuracySettings(Settings):
    """Accuracy assessment (held-out samples; Olofsson et al. 2014 stratified estimates)."""

    sample_size: Annotated[int, Field(ge=2)] = 600
    """Points of the stratified validation sample per product."""

    min_per_class: Annotated[int, Field(ge=2)] = 50
    """Points per map class at least; the rest is shared in proportion to mapped area."""

    reference: ReferenceSamples = ReferenceSamples()
    """Labelled stratified samples (the written design with its 'label' column filled
    in) per product. Ignored in the demo, where the truth labels the design. Without
    one, a real run writes the design to label and skips the accuracy rule."""


class SimulationSettings(Settings):
    """Demo only - rounds with the truth as the oracle, against random sampling."""

    kind: ModelKind | None = None
    """Model kind; null - the product's."""

    pool_per_tile: Annotated[int, Field(ge=1)] = 1000
    """Pool pixels per tile (labelled by the truth)."""

    initial: Annotated[int, Field(ge=2)] = 30
    """Random labels to start from."""

    batch: Annotated[int, Field(ge=1)] = 20
    """Labels added per round."""

    rounds: Annotated[int, Field(ge=1)] = 10
    """Rounds."""

    interior: bool = True
    """Pool only pixels whose 3x3 neighbourhood holds one truth class (field interiors,
    as surveyors label them and as the demo's samples are drawn)."""


class ActiveLearningSettings(Settings):
    """Proposals of the next samples to label (CropLayer's strategy), and the demo's
    simulation."""

    product: Literal["cropland", "irrigation", "croptype"] = "croptype"
    """The product whose uncertainty drives the proposals."""

    k: Annotated[int, Field(ge=1)] = 50
    """Points proposed per year."""

    method: Literal["margin", "entropy"] = "margin"
    """Uncertainty measure."""

    min_distance_m: Annotated[float, Field(ge=0)] = 300
    """Least distance between proposals and from labelled samples (spatial spreading)."""

    pool_per_tile: Annotated[int, Field(ge=1)] = 2000
    """Random predicted pixels per tile in the unlabelled pool."""

    simulation: SimulationSettings = SimulationSettings()
    """Demo only - rounds with the truth as the oracle, against random sampling."""


class AugmentSettings(Settings):
    """Temporal augmentation of the augmented run (on monthly steps)."""

    augment_shift: Annotated[float, Field(ge=0)] = 1.0
    """Largest random time shift (time steps, here months)."""

    augment_scale: Annotated[float, Field(ge=0)] = 0.1
    """Largest relative time scaling."""

    augment_magnitude: Annotated[float, Field(ge=0)] = 0.1
    """Standard deviation of the magnitude warp."""

    augment_p: Annotated[float, Field(ge=0, le=1)] = 0.5
    """Share of series augmented per transform."""


class TransferSettings(Settings):
    """Cross-region transfer of the crop-type CNN: trained on the source region's
    training samples, scored on its validation samples and on all samples of the
    target region, without and with temporal augmentation. Runs when source and
    target are set."""

    source: str | None = None
    """Region trained on (a region of classify.regions)."""

    target: str | None = None
    """Region predicted."""

    augment: AugmentSettings = AugmentSettings()
    """Temporal augmentation of the augmented run (on monthly steps)."""

    @model_validator(mode="after")
    def _both_or_neither(self) -> TransferSettings:
        if (self.source is None) != (self.target is None):
            raise ValueError(
                "classify.transfer.source and classify.transfer.target must both be set "
                f"or both be null (got source={self.source!r}, target={self.target!r})"
            )
        return self


class LeaveOneOutSettings(Settings):
    """Leave-one-out accuracy on a small labelled sample, with the sample's own labels.

    When enabled, the run classifies nothing else: the three products (cropland,
    irrigation, crop type) need labels of their legends and a sample large enough to
    hold some out. Each point is predicted by a model fitted on all the others."""

    enabled: bool = False
    """Run the leave-one-out rule instead of the three products' training and maps."""

    label_column: str = "label"
    """The samples' column with the class names (any names; no legend)."""

    kind: ModelKind = "svm"
    """Model kind."""

    params: dict[str, Any] = {}
    """Model parameters that differ from the library defaults."""

    features: list[str] | None = ["hants_*"]
    """Glob patterns of the input bands (features.tif names and hants_doyNNN); null -
    all. Default: the HANTS-smoothed NDVI series."""


class ClassifySettings(Settings):
    """Classification of cropland, irrigated vs rainfed and crop type: training sets,
    one model per region and year, per-tile class and probability rasters, accuracy
    assessment, active learning and cross-region transfer (docs/classification.md)."""

    regions: Literal["all", "west_east"] | dict[str, list[str]] = "all"
    """Which tiles share one model. 'all' - one region named 'all' (the default: one
    model per product and year over the whole run); 'west_east' - the tile columns west
    of the middle of the run's tiles are region 'west', the rest 'east' (the demo's two
    sub-regions); or a mapping {region: [tile ids]} listing every tile."""

    samples: SampleSettings = SampleSettings()
    """How to read the labelled sample points (inputs.samples)."""

    min_count: Annotated[int, Field(ge=1)] = 5
    """Classes with fewer samples are left out of the training set (listed by name in
    excluded.csv); a region's classes with fewer training samples are left out of its
    model (logged and kept in the model's metrics). 1 keeps every class; a class with a
    single training sample then stops the training with an error naming it."""

    strict_labels: bool = False
    """Sample labels that are not in their product's legend (and do not look like a
    typo of one) are excluded, listed in excluded.csv and named with their counts in a
    WARNING of the training_set log. true - they stop the training_set rule with an
    error naming them and the samples file."""

    cropland: CroplandModel = CroplandModel()
    """The cropland vs other model."""

    irrigation: IrrigationModel = IrrigationModel()
    """The irrigated vs rainfed model, inside cropland (Chen et al. 2021)."""

    croptype: CroptypeModel = CroptypeModel()
    """The crop-type model (inside cropland) and the models compared with it."""

    predict: PredictSettings = PredictSettings()
    """Per-tile prediction."""

    accuracy: AccuracySettings = AccuracySettings()
    """Accuracy assessment (held-out samples; Olofsson et al. 2014 stratified estimates)."""

    active_learning: ActiveLearningSettings = ActiveLearningSettings()
    """Proposals of the next samples to label (CropLayer's strategy), and the demo's
    simulation."""

    transfer: TransferSettings = TransferSettings()
    """Cross-region transfer of the crop-type CNN: trained on the source region's
    training samples, scored on its validation samples and on all samples of the target
    region, without and with temporal augmentation. Runs when source and target are set."""

    leave_one_out: LeaveOneOutSettings = LeaveOneOutSettings()
    """Leave-one-out accuracy on a small labelled sample, with the sample's own labels
    (replaces the three products when enabled)."""

    models_from: Annotated[dict[int, int] | None, BeforeValidator(none_as_empty)] = {}
    """Run years without training samples of their own, each with the run year whose
    models classify it, e.g. {2022: 2021}; null or {} - none (a config read after the
    demo's clears the demo's with null). Such a year's samples (the samples' 'year'
    column) serve only to validate its maps. Its cropland and irrigation maps come from
    that year's models of the same region; its crop-type map from the model that
    adapt.maps names for the region and year (docs/adaptation.md), else from that
    year's crop-type model. Active learning, transfer, leave-one-out and the integration
    stage run in the years with training samples only."""

    def model_year(self, year: int) -> int:
        """The run year whose models classify ``year``."""
        return int(self.models_from.get(int(year), int(year)))

    def check_years(self, years: Sequence[int]) -> None:
        """models_from must map run years to run years that have models of their own."""
        run = {int(y) for y in years}
        for target, source in self.models_from.items():
            if target not in run or source not in run or source in self.models_from:
                raise ConfigError(
                    f"classify.models_from: {target}: {source} - both must be run years "
                    f"{sorted(run)}, and {source} must not itself borrow models"
                )


ProductModel = CroplandModel | IrrigationModel | CroptypeModel


def section(**values: Any) -> ClassifySettings:
    """The ``classify`` settings from the parts of it that a rule's params carry
    (``section(accuracy=job.params.accuracy)``; the other keys keep their defaults).

    Raises
    ------
    ConfigError
        Naming the key under ``classify.``, its value and what is allowed.
    """
    return ClassifySettings.build(values, "classify")


def product_model(product: str, model: Mapping[str, Any]) -> ProductModel:
    """The model settings of ``product`` from its config block ``model``."""
    return getattr(section(**{product: model}), product)


def train_outputs(folder: str, product: str, model: Mapping[str, Any]) -> dict[str, str]:
    """Rule ``train_<product>``'s outputs in ``folder`` (:data:`TRAIN_OUTPUTS`): the
    model, the validation report, the irrigation JM table and, for crop type,
    ``compare_<name>`` -> ``compare/<name>`` per compared model (config block ``model``)."""
    out = {key: f"{folder}/{TRAIN_OUTPUTS[key]}" for key in ("model", "validation")}
    if product == "cropland":  # for the integration stage's model stacked on this one
        out["oof"] = f"{folder}/{TRAIN_OUTPUTS['oof']}"
    if product == "irrigation":
        out["separability"] = f"{folder}/{TRAIN_OUTPUTS['separability']}"
    if product == "croptype":
        for m in product_model(product, model).comparisons():
            out[f"compare_{m.label}"] = f"{folder}/{TRAIN_OUTPUTS['compare'].format(name=m.label)}"
    return out


# --- rule entries -------------------------------------------------------------------


def _setup(job: Any) -> None:
    from agrifactory.logs import setup_logging

    setup_logging(job.log[0])


def _per_tile(inputs: Any, kind: str) -> dict[str, str]:
    """Inputs named ``<kind>_<tile>`` as tile -> path."""
    prefix = f"{kind}_"
    return {k.removeprefix(prefix): v for k, v in inputs.items() if k.startswith(prefix)}


def training_set(job: Any) -> None:
    """Rule ``training_set``: the input stack at the labelled sample points of every tile
    (param ``season_start_month`` where the year is a season)."""
    from agrifactory.classify.dataset import (
        read_labelled_samples,
        samples_of_year,
        training_table,
    )
    from agrifactory.io.tables import write_table

    _setup(job)
    p = job.params
    cfg = section(samples=p.samples, min_count=p.min_count, strict_labels=p.strict_labels)
    s = cfg.samples
    path = job.input.samples
    samples = read_labelled_samples(
        path, s.label_columns.model_dump(), id_column=s.id_column, split_column=s.split_column
    )
    samples = samples_of_year(samples, int(job.wildcards.year), path)
    ts = training_table(
        samples,
        _per_tile(job.input, "features"),
        _per_tile(job.input, "smoothed"),
        monthly=_per_tile(job.input, "monthly") or None,
        tile_km=p.tile_km,
        grid=job_grid(p),
        regions=p.regions,
        products=PRODUCTS,
        year=int(job.wildcards.year),
        min_count=cfg.min_count,
        strict_labels=cfg.strict_labels,
        source=path,
        split_column=s.split_column,
        validation_fraction=s.validation_fraction,
        seed=p.seed,
        season_start_month=getattr(p, "season_start_month", 1),
    )
    write_table(ts.table, job.output.table)
    write_table(ts.excluded, job.output.excluded)


def train(job: Any) -> None:
    """Rules ``train_<product>``: one product's model (and the models compared with the
    crop-type model) for one region and year, the validation report of every model
    and, for irrigation, the JM distances."""
    import pandas as pd

    from agrifactory.classify.dataset import fit_product, read_training_table
    from agrifactory.io.tables import write_table

    _setup(job)
    p = job.params
    model_cfg = product_model(p.product, p.model)
    min_count = section(min_count=p.min_count).min_count
    table = read_training_table(job.input.table)
    out = job.output
    runs = [(model_cfg, out.model, out.get("separability"))]
    for cfg in getattr(model_cfg, "comparisons", list)():
        runs.append((cfg, out[f"compare_{cfg.label}"], None))
    reports = []
    for cfg, model_dir, separability in runs:
        model, report, jm = fit_product(
            table,
            job.params.product,
            job.wildcards.region,
            kind=cfg.kind,
            params=cfg.params,
            features=cfg.features,
            seed=job.params.seed,
            min_count=min_count,
            reselect_below=getattr(cfg, "reselect_below", None),
            threads=job.threads,
            separability=separability is not None,
            name=getattr(cfg, "label", None),
        )
        if separability is not None:
            write_table(jm, separability)
        model.save(model_dir)
        reports.append(report)
    write_table(pd.concat(reports, ignore_index=True), out.validation)
    if "oof" in out.keys():
        write_table(_out_of_fold(table, job, model_cfg, min_count), out.oof)


def _out_of_fold(table: Any, job: Any, cfg: Any, min_count: int) -> Any:
    """The out-of-fold probabilities of the region's training samples (classify.oof)."""
    from agrifactory.classify.dataset import with_threads
    from agrifactory.classify.oof import out_of_fold

    return out_of_fold(
        table,
        job.params.product,
        job.wildcards.region,
        kind=cfg.kind,
        params=with_threads(cfg.kind, cfg.params, job.threads),
        features=cfg.features,
        seed=job.params.seed,
        min_count=min_count,
    )


def classify(job: Any) -> None:
    """Rule ``classify``: class and probability rasters of one tile-year (param
    ``season_start_month`` where the year is a season)."""
    import numpy as np

    from agrifactory.classify.dataset import model_threads
    from agrifactory.classify.legend import raster_legend
    from agrifactory.classify.models import load_model
    from agrifactory.classify.predict import classify_stack, write_prediction
    from agrifactory.classify.stack import TileStack

    _setup(job)
    block_rows = section(predict={"block_rows": job.params.block_rows}).predict.block_rows
    tile, year = job.wildcards.tile, int(job.wildcards.year)
    stack = TileStack(
        job.input.features,
        job.input.smoothed,
        tile,
        monthly=job.input.get("monthly"),
        year=year,
        tile_km=job.params.tile_km,
        grid=job_grid(job.params),
        season_start_month=getattr(job.params, "season_start_month", 1),
    )
    models = {p: load_model(job.input[p]) for p in PRODUCTS}
    for model in models.values():
        model_threads(model, job.threads)
    classes, proba = classify_stack(stack, models, block_rows=block_rows)
    for product in PRODUCTS:
        write_prediction(
            job.output[product],
            job.output[f"{product}_proba"],
            classes[product],
            proba[product],
            models[product],
            raster_legend(product),
            transform=stack.transform,
            crs=stack.crs,
            product=product,
            year=year,
        )
        counts = dict(zip(*np.unique(classes[product], return_counts=True), strict=True))
        _log().info("tile %s %s pixels per code: %s", tile, product, counts)


def accuracy_design(job: Any) -> None:
    """Rule ``accuracy_design``: a stratified random validation sample of a product's map."""
    from agrifactory.classify.design import (
        DESIGN_LAYER,
        design_frame,
        mapped_area_table,
        stratified_design,
    )
    from agrifactory.classify.legend import raster_legend
    from agrifactory.io.raster import open_raster
    from agrifactory.io.tables import write_table
    from agrifactory.io.vector import write_gpkg

    _setup(job)
    cfg = section(accuracy=job.params.accuracy).accuracy
    product = job.wildcards.product
    legend = raster_legend(product)
    class_paths = dict(job.input.items())
    design, counts, allocation = stratified_design(
        class_paths,
        legend,
        sample_size=cfg.sample_size,
        min_per_class=cfg.min_per_class,
        seed=job.params.seed,
    )
    with open_raster(next(iter(class_paths.values()))) as src:
        crs = src.crs
    write_gpkg(design_frame(design, crs, legend, product), job.output.design, DESIGN_LAYER)
    mapped = mapped_area_table(counts, legend, product, allocation)
    write_table(mapped, job.output.mapped)
    _log().info("%s: stratified sample of %d points:\n%s", product, len(design), mapped.to_string())


def accuracy_reference_demo(job: Any) -> None:
    """Rule ``accuracy_reference_demo``: the demo truth labels the stratified sample."""
    from agrifactory.classify.design import DESIGN_LAYER, label_from_raster, read_design
    from agrifactory.classify.legend import raster_legend
    from agrifactory.io.vector import write_gpkg

    _setup(job)
    legend = raster_legend(job.wildcards.product)
    design = label_from_raster(read_design(job.input.design), job.input.truth, legend)
    write_gpkg(design, job.output[0], DESIGN_LAYER)


def accuracy(job: Any) -> None:
    """Rule ``accuracy``: held-out samples and Olofsson et al. (2014) estimates of one
    product; the report, both confusion matrices and the area table."""
    from agrifactory.classify.assess import assess
    from agrifactory.classify.dataset import read_training_table
    from agrifactory.classify.design import read_labelled_design
    from agrifactory.classify.legend import raster_legend
    from agrifactory.io.tables import read_table, write_table

    _setup(job)
    product = job.wildcards.product
    named = {"table", "reference", "mapped"}
    class_paths = {k: v for k, v in job.input.items() if k not in named}
    tables = assess(
        product,
        class_paths,
        read_training_table(job.input.table),
        read_labelled_design(job.input.reference, raster_legend(product)),
        read_table(job.input.mapped, "mapped-area table", "rerun the accuracy_design rule"),
        reference_name=job.params.reference_name,
    )
    for key in ACCURACY_OUTPUTS:
        write_table(tables[key], job.output[key])


def active_learning(job: Any) -> None:
    """Rule ``active_learning``: the next samples to label, by uncertainty with spatial
    spreading, away from the samples already labelled."""
    from agrifactory.classify.active_learning import PROPOSALS_LAYER
    from agrifactory.classify.dataset import read_training_table
    from agrifactory.classify.experiments import propose
    from agrifactory.io.vector import write_gpkg

    _setup(job)
    al = section(active_learning=job.params.al).active_learning
    proba_paths = {k: v for k, v in job.input.items() if k != "table"}
    labelled = read_training_table(job.input.table)[["x", "y"]].to_numpy(dtype=float)
    proposals = propose(
        proba_paths,
        labelled,
        job.wildcards.product,
        k=al.k,
        method=al.method,
        min_distance=al.min_distance_m,
        pool_per_tile=al.pool_per_tile,
        seed=job.params.seed,
    )
    write_gpkg(proposals, job.output[0], PROPOSALS_LAYER)


def active_learning_simulation(job: Any) -> None:
    """Rule ``active_learning_simulation`` (demo): uncertainty against random sampling,
    the truth as the oracle; the learning curves (CSV) and their plot."""
    from agrifactory.classify.active_learning import plot_learning_curve
    from agrifactory.classify.dataset import read_training_table
    from agrifactory.classify.experiments import simulate
    from agrifactory.io.tables import write_table

    _setup(job)
    product = job.wildcards.product
    al = section(active_learning=job.params.al).active_learning
    sim, model = al.simulation, product_model(product, job.params.model)
    own = sim.kind in (None, model.kind)
    features = _per_tile(job.input, "features")
    smoothed = _per_tile(job.input, "smoothed")
    monthly = _per_tile(job.input, "monthly")
    kind = sim.kind or model.kind
    curve = simulate(
        {t: (features[t], smoothed[t], *([monthly[t]] if monthly else [])) for t in features},
        job.input.oracle,
        read_training_table(job.input.table),
        product,
        kind=kind,
        params=model.params if own else {},
        features=model.features if own else None,
        year=int(job.wildcards.year),
        tile_km=job.params.tile_km,
        pool_per_tile=sim.pool_per_tile,
        initial=sim.initial,
        batch=sim.batch,
        rounds=sim.rounds,
        method=al.method,
        min_distance=al.min_distance_m,
        seed=job.params.seed,
        threads=job.threads,
        interior=sim.interior,
        priority_of=_block_incorrectness(job),
    )
    write_table(curve, job.output.curve)
    title = f"{product} ({kind}): {al.method} vs random, truth as oracle"
    if "correctness" in job.input.keys():
        title = f"{product} ({kind}): {al.method}, block correctness and random, truth as oracle"
    plot_learning_curve(curve, job.output.plot, title=title)


def _block_incorrectness(job: Any) -> Any:
    """With input ``correctness`` (rule semantic_model's block table): pixel centres ->
    the predicted incorrectness (1 - p_correct) of their block of the factory's map (0.5
    outside every block) and the block (its lattice indices as one number)."""
    if "correctness" not in job.input.keys():
        return None
    import numpy as np
    import pandas as pd

    from agrifactory.grid import job_grid, lattice_cells

    blocks = pd.read_csv(job.input.correctness).query("map == 'factory'")
    origin, size = job_grid(job.params).origin, float(job.params.block_m)
    keys = zip(blocks["bx"], blocks["by"], strict=True)
    lookup = dict(zip(keys, 1.0 - blocks["p_correct"], strict=True))

    def priority_of(xy: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        bx, by = lattice_cells(xy[:, 0], xy[:, 1], origin, size)
        priority = np.array([lookup.get(k, 0.5) for k in zip(bx, by, strict=True)])
        return priority, by * 1_000_000 + bx

    return priority_of


def transfer(job: Any) -> None:
    """Rule ``transfer``: the crop-type CNN trained in one region, scored in another."""
    from agrifactory.classify.dataset import read_training_table
    from agrifactory.classify.experiments import transfer as transfer_experiment
    from agrifactory.io.tables import write_table

    _setup(job)
    p = job.params
    cfg = section(croptype=p.model, transfer={"augment": p.augment})
    model, cnn = cfg.croptype, cfg.croptype.kind == "cnn1d"
    result = transfer_experiment(
        read_training_table(job.input.table),
        "croptype",
        source=job.wildcards.source,
        target=job.wildcards.target,
        params=model.params if cnn else {},
        features=model.features if cnn else ["ndvi_med_*"],
        augment=cfg.transfer.augment.model_dump(),
        seed=job.params.seed,
        threads=job.threads,
    )
    write_table(result, job.output[0])


def leave_one_out(job: Any) -> None:
    """Rule ``leave_one_out``: every sample point predicted by a model fitted on the
    others (inputs ``samples``, ``features_<tile>``, ``smoothed_<tile>``; params ``loo``,
    ``id_column``, ``tile_km``, ``grid``, ``season_start_month``, ``seed``)."""
    from agrifactory.classify.loo import features_at_samples, leave_one_out, loo_report
    from agrifactory.classify.stack import TileStack
    from agrifactory.io.samples import read_samples
    from agrifactory.io.tables import write_table

    _setup(job)
    p = job.params
    cfg = section(leave_one_out=p.loo).leave_one_out
    samples = read_samples(
        job.input.samples, label_columns=[cfg.label_column], id_column=p.id_column
    )
    samples = samples.rename(columns={p.id_column: "sample_id"})
    features, monthly = _per_tile(job.input, "features"), _per_tile(job.input, "monthly")
    stacks = {
        tile: TileStack(
            features[tile], path, tile, year=int(job.wildcards.year), tile_km=p.tile_km,
            grid=job_grid(p), season_start_month=p.season_start_month,
            monthly=monthly.get(tile),
        )
        for tile, path in _per_tile(job.input, "smoothed").items()
    }  # fmt: skip
    table, excluded = features_at_samples(samples, stacks, cfg.label_column)
    predictions = leave_one_out(
        table, kind=cfg.kind, params=cfg.params, features=cfg.features, seed=p.seed
    )
    report = loo_report(predictions)
    _log().info("leave-one-out accuracy (n = %d):\n%s", len(predictions), report.to_string())
    write_table(predictions, job.output.predictions)
    write_table(report, job.output.report, float_format="%.6f")
    write_table(excluded, job.output.excluded)


def _log() -> Any:
    import logging

    return logging.getLogger(__name__)
