"""The report's and the manifest's contract: settings, output names, one function per rule.

Rules (``workflow/rules/report.smk``, ``workflow/rules/manifest.smk``):

``mosaic``
    A VRT of one product over all tiles (:func:`mosaic`).
``overview_map``
    The run's locator map: China's provinces, the run's tiles by id (:func:`overview_map`);
    also the simplified provinces every other map's locator inset draws.
``quicklook_classes``, ``quicklook_ndvi``
    Quicklook maps of a class product and of one NDVI band (:func:`quicklook_classes`,
    :func:`quicklook_ndvi`), with graticule, tile outlines and a locator.
``qa_summaries``
    Run-level QA tables of the fusion and the HANTS smoothing (:func:`qa_summaries`).
``accuracy_table``
    The accuracy page of a class product, one row per class, and its confusion
    matrices (:func:`accuracy_table`).
``diagnostics``
    Per year: NDVI at a few validation samples per crop class (Landsat observations,
    fused series by flag, HANTS curve), and the transfer and active-learning results
    as tables (:func:`diagnostics`).
``headline``
    The report's summary page: the run's headline figures beside their goals
    (:func:`headline`).
``provenance``
    The run's config, package versions and inputs (:func:`provenance`).
``stac``
    The STAC catalog of every product (:func:`stac`).
``manifest``
    The SHA-256 of every declared product file, written last (:func:`manifest`).

This module imports no heavy library at module level: the workflow imports it when
it is parsed (settings, output names).
"""

from __future__ import annotations

import datetime as dt
import logging
from pathlib import Path
from typing import Annotated, Any

from pydantic import Field, model_validator

from agrifactory.settings import Settings


class OverallAccuracyTargets(Settings):
    """Least overall accuracy per class product (none: reported without a goal)."""

    cropland: Annotated[float, Field(ge=0, le=1)] | None = 0.95
    """Goal for the cropland map."""

    irrigation: Annotated[float, Field(ge=0, le=1)] | None = 0.9318
    """Goal for the irrigated/rainfed map."""

    croptype: Annotated[float, Field(ge=0, le=1)] | None = None
    """Goal for the crop-type map."""


class KappaTargets(Settings):
    """Least Cohen's kappa per class product (none: no kappa row for the product)."""

    cropland: Annotated[float, Field(ge=-1, le=1)] | None = None
    """Goal for the cropland map."""

    irrigation: Annotated[float, Field(ge=-1, le=1)] | None = 0.91
    """Goal for the irrigated/rainfed map."""

    croptype: Annotated[float, Field(ge=-1, le=1)] | None = None
    """Goal for the crop-type map."""


class HeadlineTargets(Settings):
    """Goals the summary page sets each headline figure beside, marked met or missed
    (none: the figure is shown without a goal). Defaults are the goals of
    docs/classification.md and docs/soil-moisture.md."""

    overall_accuracy: OverallAccuracyTargets = OverallAccuracyTargets()
    """Least overall accuracy per product (validation samples and stratified sample)."""

    kappa: KappaTargets = KappaTargets()
    """Least Cohen's kappa per product (validation samples); a row only where set."""

    share_within_tolerance_pct: Annotated[float, Field(ge=0, le=100)] | None = None
    """Least share (%) of compared units whose mapped area lies within
    aggregate.compare.tolerance of the official figure."""

    soil_moisture_pcc: Annotated[float, Field(ge=-1, le=1)] | None = 0.86
    """Least PCC of the calibrated soil moisture at held-out stations (each layer)."""

    soil_moisture_rmse: Annotated[float, Field(ge=0)] | None = 0.03
    """Greatest RMSE (m3/m3) of the calibrated soil moisture at held-out stations."""

    fusion_coverage_pct: Annotated[float, Field(ge=0, le=100)] | None = None
    """Least mean share (%) of pixels the fusion predicts per 8-day date."""

    hants_coverage_pct: Annotated[float, Field(ge=0, le=100)] | None = None
    """Least share (%) of pixels with a HANTS fit."""

    transfer_oa: Annotated[float, Field(ge=0, le=1)] | None = None
    """Least overall accuracy of the crop-type model transferred to the target region."""


class ReportSettings(Settings):
    """What the report shows."""

    targets: HeadlineTargets = HeadlineTargets()
    """Goals of the headline figures on the report's summary page."""

    ndvi_map_date: Annotated[str, Field(pattern=r"^[0-9]{2}-[0-9]{2}$")] = "07-28"
    """Month-day (MM-DD) of the NDVI band shown in the NDVI maps (the 8-day date
    containing it)."""

    soil_moisture_month: Annotated[int, Field(ge=1, le=12)] = 7
    """Month whose mean calibrated soil moisture the report's map shows."""

    @model_validator(mode="after")
    def _real_day(self) -> ReportSettings:
        month, day = (int(v) for v in self.ndvi_map_date.split("-"))
        try:
            dt.date(2000, month, day)  # a leap year: 02-29 is a day of some years
        except ValueError:
            raise ValueError(
                f"report.ndvi_map_date ({self.ndvi_map_date!r}) is not a day of the year (MM-DD)"
            ) from None
        return self

    def ndvi_map_day(self, year: int) -> dt.date:
        """The day of ``year`` whose 8-day NDVI band the maps show (02-29: 02-28 in other years)."""
        month, day = (int(v) for v in self.ndvi_map_date.split("-"))
        try:
            return dt.date(year, month, day)
        except ValueError:
            return dt.date(year, month, day - 1)


class ManifestSettings(Settings):
    """The run manifest results/manifest.sha256 (rule manifest, written last): the
    SHA-256 of every file under results/ that a rule declares as its output, except
    hidden files, the manifest itself and the excluded patterns. Two runs of one config
    must give the same manifest, whether or not `snakemake --report` ran."""

    exclude: list[str] = ["logs/*", "benchmarks/*", "report/provenance.*"]
    """fnmatch patterns of volatile files to leave out, relative to results/ ('*' also
    crosses '/'). Logs, benchmark records and the provenance record hold times, host
    names and versions."""


# --- output names ----------------------------------------------------------------

#: Per-tile product files the report mosaics and catalogs: name -> path in the
#: tile-year folder (``results/tiles/<tile>/<year>/``).
TILE_PRODUCTS = {
    "cropland": "classify/cropland.tif",
    "irrigation": "classify/irrigation.tif",
    "croptype": "classify/croptype.tif",
    "fused_ndvi": "fusion/ndvi_8day.tif",
    "smoothed_ndvi": "smooth/ndvi_hants.tif",
    "features": "features/features.tif",
    "quality_mask": "quality/mask.tif",
}
#: Class products among them (mapped with a legend).
CLASS_MAPS = ("cropland", "irrigation", "croptype")
#: Continuous NDVI products among them (mapped with a colour bar).
NDVI_MAPS = ("fused_ndvi", "smoothed_ndvi")
#: Mosaicked products (one VRT and one quicklook map per year each) and their tile files.
MOSAIC_PRODUCTS = {name: TILE_PRODUCTS[name] for name in (*CLASS_MAPS, *NDVI_MAPS)}
#: Rule mosaic's output, in ``results/mosaics/<year>/``.
MOSAIC = "{product}.vrt"
#: Rule overview_map's outputs, in ``results/report/``: the map, and mainland China's
#: provinces simplified in the grid CRS (the locator insets of every map).
OVERVIEW = {"map": "overview_map.png", "provinces": "map_provinces.gpkg"}
#: The quicklook rules' output, in ``results/report/<year>/``.
QUICKLOOK = "map_{product}.png"
#: Rule model_comparison's outputs, in ``results/report/<year>/``: the crop-type
#: models on the validation samples, as CSV and as a page of the report.
MODEL_COMPARISON = {"table": "models_croptype.csv", "page": "models_croptype.html"}
#: Rule qa_summaries' outputs, in ``results/report/qa/``: each table as a page for
#: the report and as CSV (``<key>_table``) for the headline figures.
QA_SUMMARIES = {
    "fusion": "fusion.html",
    "validation": "fusion_validation.html",
    "validation_flags": "fusion_validation_flags.html",
    "hants": "hants.html",
    "fusion_table": "fusion.csv",
    "validation_table": "fusion_validation.csv",
    "validation_flags_table": "fusion_validation_flags.csv",
    "hants_table": "hants.csv",
}
#: Rule diagnostics' outputs, in ``results/report/<year>/``: the NDVI figure and fused
#: against observed NDVI on the held-out scenes always, the transfer page with a
#: transfer experiment, the active-learning page with its simulation.
DIAGNOSTICS = {
    "ndvi": "diagnostics_ndvi.png",
    "heldout": "diagnostics_heldout.png",
    "transfer": "transfer.html",
    "active_learning": "active_learning.html",
}
#: Class products whose classes the NDVI diagnostics sample, the first with validation
#: samples taken (a run may label cropland only), and samples per class.
DIAGNOSTICS_PRODUCTS = ("croptype", "irrigation", "cropland")
DIAGNOSTICS_PER_CLASS = 2
#: Rule headline's outputs, in ``results/report/``: the headline figures as CSV and
#: as the report's summary page.
HEADLINE = {"table": "headline.csv", "html": "headline.html"}
#: Rule provenance's outputs, in ``results/report/``.
PROVENANCE = {"yaml": "provenance.yaml", "html": "provenance.html"}
#: Rule stac's output, in ``results/``: the catalog's folder (``catalog.json``, a folder
#: per collection and item), declared as a whole so the manifest hashes every file of it.
STAC = "stac"
#: Rule manifest's output, in ``results/``.
MANIFEST = "manifest.sha256"


# --- rules -----------------------------------------------------------------------


def mosaic(job: Any) -> None:
    """Rule mosaic: a VRT of one product over all tiles (opens in QGIS)."""
    from agrifactory import legend
    from agrifactory.logs import setup_logging
    from agrifactory.report.palettes import palette
    from agrifactory.report.vrt import write_vrt

    setup_logging(job.log[0])
    product = job.wildcards.product
    classes = legend.LEGENDS.get(product)
    write_vrt(
        job.input,
        job.output[0],
        classes=classes,
        colours=palette(product, classes) if classes else None,
    )


def overview_map(job: Any) -> None:
    """Rule overview_map: mainland China's provinces with the run's tiles by id, and the
    simplified provinces the other maps' locators draw."""
    import geopandas as gpd

    from agrifactory.boundaries import write_units
    from agrifactory.logs import setup_logging
    from agrifactory.report.context import MapContext, simplified_provinces
    from agrifactory.report.context import overview_map as draw

    setup_logging(job.log[0])
    tiles = gpd.read_file(job.input.tiles)
    provinces = simplified_provinces(job.input.provinces, tiles.crs)
    write_units(provinces, job.output.provinces, layer="provinces")
    # Not the years: adding one must not redraw this map and the locators of every map.
    title = f"Area of the run: {len(tiles)} tiles of {job.params.tile_km} km"
    draw(MapContext(tiles=tiles, provinces=provinces), job.output.map, title=title)


def _context(job: Any) -> Any:
    from agrifactory.report.context import load_context

    return load_context(job.input.tiles, job.input.provinces)


def quicklook_classes(job: Any) -> None:
    """Rule quicklook_classes: a map of a class product with its legend, scale bar,
    graticule, tile outlines and locator."""
    from agrifactory.logs import setup_logging
    from agrifactory.report.maps import quicklook_classes as draw

    setup_logging(job.log[0])
    product = job.wildcards.product
    title = f"{product.replace('_', ' ').capitalize()} {job.wildcards.year}"
    draw(job.input.mosaic, job.output[0], product=product, title=title, context=_context(job))


def quicklook_ndvi(job: Any) -> None:
    """Rule quicklook_ndvi: a map of one 8-day NDVI band (fused or smoothed) with a colour bar."""
    from agrifactory.io.modis import composite_containing, composite_starts
    from agrifactory.logs import setup_logging
    from agrifactory.report.context import share_notes, valid_share_note, valid_shares
    from agrifactory.report.maps import quicklook_continuous

    setup_logging(job.log[0])
    context = _context(job)
    settings = ReportSettings.build({"ndvi_map_date": job.params.ndvi_map_date}, "report")
    date = composite_containing(settings.ndvi_map_day(int(job.wildcards.year)))
    band = composite_starts(date.year).index(date) + 1
    kind = "Fused" if job.wildcards.product == "fused_ndvi" else "HANTS-smoothed"
    shares = valid_shares(job.input.mosaic, context.tiles, band)
    quicklook_continuous(
        job.input.mosaic,
        job.output[0],
        band=band,
        cmap="RdYlGn",
        vmin=-0.2,
        vmax=0.9,
        label="NDVI (unitless)",
        title=f"{kind} NDVI, 8 days from {date}",
        context=context,
        notes=share_notes(shares),
        footnote=valid_share_note(shares),
    )


def qa_summaries(job: Any) -> None:
    """Rule qa_summaries: run-level QA tables of the fusion and the HANTS smoothing."""
    from agrifactory.io.tables import write_table
    from agrifactory.logs import setup_logging
    from agrifactory.report import summaries
    from agrifactory.report.tables import write_html_table

    setup_logging(job.log[0])
    tables = {  # output: (summary of the per-tile files, input, title, caption)
        "fusion": (
            summaries.fusion_summary,
            "fusion_qa",
            "Fusion: base pairs and prediction paths per tile-year",
            "Targets fused from two pairs, one pair or none; pixel shares by ESTARFM "
            "path and fallback (mean over the 46 dates).",
        ),
        "validation": (
            summaries.fusion_validation_summary,
            "fusion_validation",
            "Fusion: held-out validation by pair selector",
            "Clear scenes held out and predicted from pairs chosen without them; "
            "selectors compared on the same pixels.",
        ),
        "validation_flags": (
            summaries.fusion_flag_validation_summary,
            "fusion_validation_flags",
            "Fusion: held-out validation per flag class",
            "The product's cascade at held-out scenes, per pixel flag: RMSE pooled over "
            "the class's pixels against the nearest clear scene's on the same pixels.",
        ),
        "hants": (
            summaries.hants_summary,
            "hants_qa",
            "HANTS smoothing per tile-year",
            "Fit RMSE against the kept samples, rejected samples per series, and the "
            "share of each fit path.",
        ),
    }
    for output, (summary, key, title, caption) in tables.items():
        files = dict(zip(job.params.tile_years, getattr(job.input, key), strict=True))
        table = summary(files)
        write_table(table, getattr(job.output, f"{output}_table"))
        write_html_table(table, getattr(job.output, output), title=title, caption=caption)


def accuracy_table(job: Any) -> None:
    """Rule accuracy_table: the accuracy page of one product (a row per class) and its
    confusion matrices as a heatmap."""
    from agrifactory.logs import setup_logging
    from agrifactory.report.accuracy import confusion_heatmaps, read_confusion, write_accuracy_page

    setup_logging(job.log[0])
    product, year = job.wildcards.product, job.wildcards.year
    write_accuracy_page(
        job.input.report,
        job.input.areas,
        job.output.table,
        title=f"Accuracy of the {product} map ({year})",
    )
    matrices = {
        "validation samples": read_confusion(job.input.confusion_validation),
        "stratified sample": read_confusion(job.input.confusion_stratified),
    }
    confusion_heatmaps(
        matrices, job.output.confusion, title=f"Confusion matrices of the {product} map ({year})"
    )


def diagnostics(job: Any) -> None:
    """Rule diagnostics: the NDVI chain at sample pixels per class; transfer and
    active-learning results (each page where the run has them).

    ``input``: ``training`` (the training set) and, per tile in ``params.tiles`` order,
    the lists ``landsat``, ``mask``, ``fused``, ``flags``, ``hants``,
    ``validation_flags``, ``validation_scatter``; optional ``transfer`` (tables) and
    ``simulation`` (the active-learning curve).
    """
    from agrifactory import legend
    from agrifactory.io.tables import read_table
    from agrifactory.logs import setup_logging
    from agrifactory.report import diagnostics as diag

    setup_logging(job.log[0])
    year = job.wildcards.year
    training = read_table(job.input.training, "training set", "rerun rule training_set")
    product, picked = DIAGNOSTICS_PRODUCTS[0], training.iloc[:0]
    for product in (p for p in DIAGNOSTICS_PRODUCTS if p in training.columns):
        picked = diag.pick_samples(
            training, product, per_class=DIAGNOSTICS_PER_CLASS, seed=int(job.params.seed)
        )
        if len(picked):
            break
    logging.getLogger(__name__).info(
        "NDVI diagnostics of %s: %d validation samples (%s)",
        product,
        len(picked),
        ", ".join(picked["sample_id"].astype(str)),
    )
    tiles = list(job.params.tiles)
    panels, names = [], {}
    for rec in picked.to_dict("records"):
        k = tiles.index(rec["tile_id"])
        files = {key: job.input[key][k] for key in diag.SERIES_FILES}
        names = names or diag.flag_names(_tags(files["flags"]))
        label = legend.LEGENDS[product].get(rec[product], str(rec[product]))
        panel = f"{label}: sample {rec['sample_id']} ({rec['tile_id']})"
        panels.append((panel, diag.pixel_series(files, rec["x"], rec["y"])))
    diag.ndvi_diagnostics(
        panels,
        names,
        job.output.ndvi,
        ncols=DIAGNOSTICS_PER_CLASS,
        title=f"NDVI at validation samples by {product} class ({year})",
    )
    _heldout_figure(job, year)
    _learning_pages(job, year)


def _heldout_figure(job: Any, year: str) -> None:
    """Fused against observed NDVI on the held-out scenes, over the year's tiles."""
    from agrifactory.report import heldout

    coverage, pooled = heldout.flag_figures(job.input.validation_flags)
    heldout.heldout_figure(
        heldout.scatter_sum(job.input.validation_scatter),
        coverage,
        pooled,
        job.output.heldout,
        title=f"Fused against observed NDVI on the held-out Landsat scenes ({year})",
    )


def _tags(path: str) -> dict[str, str]:
    from agrifactory.io.raster import open_raster

    with open_raster(path) as src:
        return src.tags()


def _learning_pages(job: Any, year: str) -> None:
    """The transfer and active-learning pages of rule diagnostics, where declared."""
    from agrifactory.report.learning import (
        curve_view,
        learning_curve_table,
        spread_note,
        transfer_table,
    )
    from agrifactory.report.tables import write_html_table

    if "transfer" in job.output.keys():
        write_html_table(
            transfer_table(job.input.transfer),
            job.output.transfer,
            title=f"Crop-type model transferred between regions ({year})",
            caption="within: trained and tested in the source region (held-out samples); "
            "transfer: the source model applied to every sample of the target region; "
            "drop: within minus transfer. augmentation: trained with temporal "
            "augmentation of the NDVI series. One training run per row (no repeats): no spread.",
        )
    if "active_learning" in job.output.keys():
        curve = learning_curve_table(job.input.simulation)
        write_html_table(
            curve_view(curve),
            job.output.active_learning,
            title=f"Active-learning simulation ({year})",
            caption="Overall accuracy on the held-out samples against the number of labels, "
            "per strategy (uncertainty sampling or random). " + spread_note(curve),
        )


def headline(job: Any) -> None:
    """Rule headline: the run's headline figures beside their goals (the summary page).

    ``params.years`` maps each year to the product tables of
    :class:`agrifactory.report.headline.YearProducts` (the same files as the inputs).
    """
    from agrifactory.io.tables import write_table
    from agrifactory.logs import setup_logging
    from agrifactory.report.headline import (
        RunFacts,
        YearProducts,
        headline_table,
        tiles_extent,
        write_headline_html,
    )

    setup_logging(job.log[0])
    p = job.params
    settings = ReportSettings.build(p.report, "report")
    products = {int(y): YearProducts(**files) for y, files in p.years.items()}
    table = headline_table(
        products, settings.targets, fusion_qa=job.input.fusion_qa, hants_qa=job.input.hants_qa
    )
    write_table(table, job.output.table)
    facts = RunFacts(
        demo=bool(p.demo),
        years=sorted(products),
        n_tiles=int(p.n_tiles),
        tile_km=int(p.tile_km),
        extent=tiles_extent(job.input.tiles),
    )
    write_headline_html(table, facts, job.output.html)


def provenance(job: Any) -> None:
    """Rule provenance: the run's config, package versions and input inventory."""
    from agrifactory.logs import setup_logging
    from agrifactory.report.provenance import provenance as record_of
    from agrifactory.report.provenance import provenance_html, write_provenance

    setup_logging(job.log[0])
    record = record_of(
        job.params.config,
        inventories=job.input.inventories,
        inputs=job.input.others,
        extra={"tiles": job.params.tiles},
    )
    write_provenance(record, job.output.yaml)
    provenance_html(record, job.output.html)


def stac(job: Any) -> None:
    """Rule stac: a STAC catalog of every product of the run, linked to its inputs."""
    from agrifactory.logs import setup_logging
    from agrifactory.report.catalog import write_run_catalog

    setup_logging(job.log[0])
    mosaics = {Path(m).stem: m for m in job.input.mosaics}
    catalog_dir = Path(job.output[0])  # <results>/stac
    write_run_catalog(
        catalog_dir, catalog_dir.parent, job.params.tiles, job.params.years, mosaics=mosaics
    )


def manifest(job: Any) -> None:
    """Rule manifest: the checksum of every declared product file (see agrifactory.manifest)."""
    from agrifactory.logs import setup_logging
    from agrifactory.manifest import write_manifest

    setup_logging(job.log[0])
    settings = ManifestSettings.build({"exclude": job.params.exclude}, "manifest")
    write_manifest(
        Path(job.output[0]).parent,
        job.output[0],
        exclude=settings.exclude,
        threads=job.threads,
        declared=job.params.declared,
    )


def model_comparison(job: Any) -> None:
    """Rule model_comparison: the crop-type models side by side on the validation samples
    of every region (inputs: region -> ``validation.csv``; param ``mapped``: the name of
    the product's model); a CSV and its HTML page."""
    from agrifactory.io.tables import read_table, write_table
    from agrifactory.logs import setup_logging
    from agrifactory.report.accuracy import model_comparison as compare
    from agrifactory.report.accuracy import write_model_comparison

    setup_logging(job.log[0])
    reports = {
        region: read_table(path, "validation report", "rerun the train_croptype rule")
        for region, path in job.input.items()
    }
    table = compare(reports, job.params.mapped)
    write_table(table, job.output.table, float_format="%.6f")
    title = f"Crop-type models on the validation samples ({job.wildcards.year})"
    write_model_comparison(table, job.output.page, title=title)
