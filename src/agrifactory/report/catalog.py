"""The factory's products as a STAC catalog: which files make up each product and what they came from."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

from agrifactory import legend
from agrifactory.report.rules import TILE_PRODUCTS
from agrifactory.report.stac import ProductFile, ProductSpec, write_catalog


def _tile_file(name: str) -> str:
    """The per-tile path pattern of a product of :data:`~agrifactory.report.rules.TILE_PRODUCTS`."""
    return f"tiles/{{tile}}/{{year}}/{TILE_PRODUCTS[name]}"


#: name -> (title, description, per-tile path pattern, classes or units, input patterns).
PRODUCTS: dict[str, tuple[str, str, str, Mapping[int, str] | str, tuple[str, ...]]] = {
    "cropland": (
        "Cropland",
        "Cropland vs other, 30 m (uint8, 255 nodata).",
        _tile_file("cropland"),
        legend.CROPLAND,
        (_tile_file("features"),),
    ),
    "irrigation": (
        "Irrigated and rainfed cropland",
        "Irrigation within cropland, 30 m (0 outside cropland).",
        _tile_file("irrigation"),
        legend.IRRIGATION,
        (_tile_file("features"), _tile_file("cropland")),
    ),
    "croptype": (
        "Crop type",
        "Crop type within cropland, 30 m (0 outside cropland).",
        _tile_file("croptype"),
        legend.CROPTYPE,
        (_tile_file("features"), _tile_file("cropland")),
    ),
    "fused_ndvi": (
        "Fused NDVI, 8-day, 30 m",
        "ESTARFM fusion of Landsat and MODIS NDVI: 46 bands per year.",
        _tile_file("fused_ndvi"),
        "NDVI",
        (
            "tiles/{tile}/{year}/ingest/landsat_ndvi.tif",
            "tiles/{tile}/{year}/ingest/modis_ndvi.tif",
            "tiles/{tile}/{year}/quality/pairs.csv",
        ),
    ),
    "smoothed_ndvi": (
        "Smoothed NDVI (HANTS), 8-day, 30 m",
        "HANTS reconstruction of the fused series.",
        _tile_file("smoothed_ndvi"),
        "NDVI",
        (_tile_file("fused_ndvi"),),
    ),
    "features": (
        "Classification features",
        "Harmonic terms, monthly medians and phenology metrics (named bands).",
        _tile_file("features"),
        "mixed",
        (_tile_file("fused_ndvi"), "tiles/{tile}/{year}/smooth/coefficients.tif"),
    ),
    "quality_mask": (
        "Scene quality masks",
        "Per-pixel quality flags of every Landsat scene (uint8 bits).",
        _tile_file("quality_mask"),
        "bit flags",
        ("tiles/{tile}/{year}/ingest/landsat_qa_pixel.tif",),
    ),
}


def product_files(
    results: str | Path, tiles: Sequence[str], years: Sequence[int]
) -> tuple[list[ProductSpec], list[ProductFile]]:
    """The specs of the products present under ``results`` and one file record per tile-year."""
    results = Path(results)
    specs, files = [], []
    for name, (title, description, pattern, legend_or_unit, inputs) in PRODUCTS.items():
        found = []
        for tile in tiles:
            for year in years:
                path = results / pattern.format(tile=tile, year=year)
                if path.exists():
                    ins = tuple(results / p.format(tile=tile, year=year) for p in inputs)
                    found.append(
                        ProductFile(
                            name, tile, int(year), path, tuple(p for p in ins if p.exists())
                        )
                    )
        if found:
            classes = legend_or_unit if isinstance(legend_or_unit, Mapping) else None
            units = None if classes else str(legend_or_unit)
            specs.append(ProductSpec(name, title, description, classes=classes, units=units))
            files += found
    return specs, files


def write_run_catalog(
    out_dir: str | Path,
    results: str | Path,
    tiles: Sequence[str],
    years: Sequence[int],
    *,
    mosaics: Mapping[str, str | Path] | None = None,
    run_assets: Mapping[str, str | Path] | None = None,
    run_inputs: Sequence[str | Path] = (),
) -> Path:
    """Write the STAC catalog of every product of a run; returns the catalog's path."""
    specs, files = product_files(results, tiles, years)
    return write_catalog(
        out_dir, specs, files, mosaics=mosaics, run_assets=run_assets, run_inputs=run_inputs
    )
