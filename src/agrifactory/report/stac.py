"""A STAC catalog of the run's products (pystac), every item linked to its inputs.

Layout: ``catalog.json`` at the top; one collection per product (cropland,
irrigation, crop type, NDVI, soil moisture, ...) with one item per tile and
year, whose asset is the product's COG; the product's VRT mosaic as a
collection asset; and a ``run`` collection whose assets are the run-level
tables, report and provenance. Each item has a ``derived_from`` link per input:
to the input's own item when the input is another product in the catalog,
else to the input file. Items carry the projection extension (the China
Albers WKT2, shape, transform), the raster extension (data type, nodata,
unit) and, for class products, the classification extension (codes, names,
colours). Every href is relative, so the catalog moves with the results.
"""

from __future__ import annotations

import datetime as dt
import os
import shutil
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pystac
import shapely
from pyproj import CRS, Transformer
from pystac.extensions.classification import Classification, ClassificationExtension
from pystac.extensions.projection import ProjectionExtension
from pystac.extensions.raster import RasterBand, RasterExtension

from agrifactory.io.raster import open_raster
from agrifactory.report.palettes import palette

COG = "image/tiff; application=geotiff; profile=cloud-optimized"
MEDIA_TYPES = {
    ".tif": COG,
    ".vrt": "application/xml",
    ".csv": "text/csv",
    ".parquet": "application/vnd.apache.parquet",
    ".html": "text/html",
    ".json": "application/json",
    ".yaml": "application/yaml",
    ".gpkg": "application/geopackage+sqlite3",
    ".png": "image/png",
    ".nc": "application/netcdf",
}


@dataclass(frozen=True)
class ProductSpec:
    """What one product is: its name (collection id), title, description and legend or unit."""

    name: str
    title: str
    description: str
    classes: Mapping[int, str] | None = None
    units: str | None = None


@dataclass(frozen=True)
class ProductFile:
    """One file of a product: its tile, year, path and the files it was made from."""

    product: str
    tile: str
    year: int
    path: Path
    inputs: tuple[Path, ...] = field(default_factory=tuple)


def _media_type(path: Path) -> str:
    return MEDIA_TYPES.get(path.suffix.lower(), "application/octet-stream")


def _footprint(bounds: tuple[float, float, float, float], crs: CRS) -> shapely.Geometry:
    """A raster's outline in WGS84 (edges densified, so the curved sides are followed)."""
    box = shapely.segmentize(shapely.box(*bounds), (bounds[2] - bounds[0]) / 20)
    to_wgs84 = Transformer.from_crs(crs, "EPSG:4326", always_xy=True)

    def project(xy: np.ndarray) -> np.ndarray:
        return np.column_stack(to_wgs84.transform(xy[:, 0], xy[:, 1]))

    return shapely.transform(box, project)


def _relative(target: Path, start_dir: Path) -> str:
    return Path(os.path.relpath(target.resolve(), start_dir.resolve())).as_posix()


def _item(spec: ProductSpec, f: ProductFile) -> pystac.Item:
    with open_raster(f.path) as src:
        crs = CRS.from_user_input(src.crs)
        bounds = tuple(src.bounds)
        shape = [src.height, src.width]
        transform = list(src.transform)[:6]
        dtype = src.dtypes[0]
        nodata = src.nodata
        units = src.units[0] or spec.units
        count = src.count
    geom = _footprint(bounds, crs)
    start = dt.datetime(f.year, 1, 1, tzinfo=dt.UTC)
    end = dt.datetime(f.year, 12, 31, 23, 59, 59, tzinfo=dt.UTC)
    item = pystac.Item(
        id=f"{spec.name}-{f.tile}-{f.year}",
        geometry=shapely.geometry.mapping(geom),
        bbox=list(geom.bounds),
        datetime=None,
        start_datetime=start,
        end_datetime=end,
        properties={
            "agrifactory:tile": f.tile,
            "agrifactory:year": f.year,
            "title": f"{spec.title}, {f.tile}, {f.year}",
        },
    )
    asset = pystac.Asset(
        href=str(f.path.resolve()), media_type=_media_type(f.path), roles=["data"], title=spec.title
    )
    item.add_asset("data", asset)
    proj = ProjectionExtension.ext(item, add_if_missing=True)
    proj.apply(code=None, wkt2=crs.to_wkt(), bbox=list(bounds), shape=shape, transform=transform)
    band = RasterBand.create(nodata=nodata, data_type=dtype, unit=units or None)
    RasterExtension.ext(asset, add_if_missing=True).apply([band] * count)
    if spec.classes is not None:
        colours = palette(spec.name, dict(spec.classes))
        classes = [
            Classification.create(
                value=int(c), name=n, color_hint=colours.get(c, "#000000").lstrip("#").upper()
            )
            for c, n in sorted(spec.classes.items())
        ]
        if nodata is not None:
            classes.append(Classification.create(value=int(nodata), name="nodata", nodata=True))
        ClassificationExtension.ext(asset, add_if_missing=True).apply(classes)
    return item


def write_catalog(
    out_dir: str | Path,
    products: Sequence[ProductSpec],
    files: Sequence[ProductFile],
    *,
    mosaics: Mapping[str, str | Path] | None = None,
    run_assets: Mapping[str, str | Path] | None = None,
    run_inputs: Sequence[str | Path] = (),
    catalog_id: str = "agrifactory",
    title: str = "agrifactory products",
    description: str = "Agricultural data products made by agrifactory, tile by tile, with their inputs linked.",
) -> Path:
    """Write the catalog into ``out_dir`` (replaced as a whole) and return its ``catalog.json``.

    Parameters
    ----------
    out_dir
        Folder of the catalog.
    products
        One spec per product; every file's product must be among them.
    files
        The product files (one per product, tile and year) with their inputs.
    mosaics
        VRT mosaic per product name (a collection asset ``mosaic``).
    run_assets
        Run-level files by key (area and comparison tables, report, provenance),
        the assets of the ``run`` collection.
    run_inputs
        Files the run-level assets were made from (statistics tables, boundaries).
    """
    out_dir = Path(out_dir)
    specs = {s.name: s for s in products}
    unknown = sorted({f.product for f in files} - set(specs))
    if unknown:
        raise ValueError(f"files of products {unknown} have no ProductSpec")
    catalog = pystac.Catalog(id=catalog_id, description=description, title=title)
    collections, items_by_path = _product_collections(catalog, specs, files)
    _add_mosaics(collections, specs, mosaics or {})
    run = _run_collection(run_assets, collections) if run_assets else None
    if run is not None:
        catalog.add_child(run)

    tmp = out_dir.with_name(f".{out_dir.name}-{uuid.uuid4().hex[:12]}-tmp")
    try:
        catalog.normalize_hrefs(str(tmp.resolve()))
        _link_inputs(files, items_by_path, out_dir, tmp)
        if run is not None:
            _link_run_inputs(run, run_inputs, collections, out_dir)
        catalog.make_all_asset_hrefs_relative()
        catalog.save(catalog_type=pystac.CatalogType.SELF_CONTAINED)
        if out_dir.exists():
            shutil.rmtree(out_dir)
        tmp.rename(out_dir)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp)
    return out_dir / "catalog.json"


def _empty_extent() -> pystac.Extent:
    return pystac.Extent(
        pystac.SpatialExtent([[0, 0, 0, 0]]), pystac.TemporalExtent([[None, None]])
    )


def _product_collections(
    catalog: pystac.Catalog, specs: Mapping[str, ProductSpec], files: Sequence[ProductFile]
) -> tuple[dict[str, pystac.Collection], dict[Path, tuple[str, pystac.Item]]]:
    """One collection per product with files (added to ``catalog``), and every item by path."""
    items_by_path: dict[Path, tuple[str, pystac.Item]] = {}
    collections: dict[str, pystac.Collection] = {}
    for name, spec in specs.items():
        items = [_item(spec, f) for f in files if f.product == name]
        if not items:
            continue
        collection = pystac.Collection(
            id=name,
            description=spec.description,
            title=spec.title,
            extent=_empty_extent(),
            license="other",
        )
        collection.add_items(items)
        collection.update_extent_from_items()
        catalog.add_child(collection)
        collections[name] = collection
        for f, item in zip([f for f in files if f.product == name], items, strict=True):
            items_by_path[f.path.resolve()] = (name, item)
    return collections, items_by_path


def _add_mosaics(
    collections: Mapping[str, pystac.Collection],
    specs: Mapping[str, ProductSpec],
    mosaics: Mapping[str, str | Path],
) -> None:
    """The VRT mosaic of each product as its collection's asset ``mosaic``."""
    for name, vrt in mosaics.items():
        if name not in collections:
            raise ValueError(f"mosaic given for product {name!r}, which has no files")
        collections[name].add_asset(
            "mosaic",
            pystac.Asset(
                href=str(Path(vrt).resolve()),
                media_type="application/xml",
                roles=["data", "mosaic"],
                title=f"{specs[name].title}: GDAL VRT mosaic of all tiles",
            ),
        )


def _run_collection(
    run_assets: Mapping[str, str | Path], collections: Mapping[str, pystac.Collection]
) -> pystac.Collection:
    """The ``run`` collection of the run-level files."""
    run = pystac.Collection(
        id="run",
        description="Run-level outputs: areas per unit, comparison with official statistics, report, provenance.",
        title="run outputs",
        extent=_empty_extent(),
        license="other",
    )
    for key, path in run_assets.items():
        p = Path(path)
        run.add_asset(
            key, pystac.Asset(href=str(p.resolve()), media_type=_media_type(p), roles=["data"])
        )
    if collections:
        run.extent = _union_extent(list(collections.values()))
    return run


def _link_run_inputs(
    run: pystac.Collection,
    run_inputs: Sequence[str | Path],
    collections: Mapping[str, pystac.Collection],
    out_dir: Path,
) -> None:
    """``derived_from`` links of the run collection: its input files and every product."""
    for p in run_inputs:
        run.add_link(
            pystac.Link("derived_from", _relative(Path(p), out_dir / "run"), title=Path(p).name)
        )
    for name in collections:
        run.add_link(
            pystac.Link("derived_from", f"../{name}/collection.json", media_type="application/json")
        )


def _union_extent(collections: list[pystac.Collection]) -> pystac.Extent:
    boxes = [c.extent.spatial.bboxes[0] for c in collections]
    starts = [c.extent.temporal.intervals[0][0] for c in collections]
    ends = [c.extent.temporal.intervals[0][1] for c in collections]
    bbox = [
        min(b[0] for b in boxes),
        min(b[1] for b in boxes),
        max(b[2] for b in boxes),
        max(b[3] for b in boxes),
    ]
    return pystac.Extent(
        pystac.SpatialExtent([bbox]), pystac.TemporalExtent([[min(starts), max(ends)]])
    )


def _link_inputs(
    files: Sequence[ProductFile],
    items_by_path: Mapping[Path, tuple[str, pystac.Item]],
    out_dir: Path,
    tmp: Path,
) -> None:
    """``derived_from`` links: to an input's item when it is in the catalog, else to the file."""
    for f in files:
        _, item = items_by_path[f.path.resolve()]
        item_dir = out_dir / f.product / item.id
        for inp in f.inputs:
            hit = items_by_path.get(Path(inp).resolve())
            if hit is not None:
                product, source = hit
                href = f"../../{product}/{source.id}/{source.id}.json"
                item.add_link(
                    pystac.Link(
                        "derived_from", href, media_type="application/json", title=source.id
                    )
                )
            else:
                item.add_link(
                    pystac.Link(
                        "derived_from", _relative(Path(inp), item_dir), title=Path(inp).name
                    )
                )


def check_catalog(path: str | Path) -> list[str]:
    """Structural checks of a saved catalog; returns the problems found (empty when sound).

    Checks: every child and item reads back; every item has a geometry, a bbox
    that contains it, a start and end datetime, and at least one asset; every
    asset and every ``derived_from`` link resolves to an existing file; every
    item's bbox lies inside its collection's extent.
    """
    problems: list[str] = []
    catalog = pystac.Catalog.from_file(str(path))
    for collection in catalog.get_children():
        extent = (
            collection.extent.spatial.bboxes[0]
            if isinstance(collection, pystac.Collection)
            else None
        )
        problems += _missing_files(collection.id, collection)
        for item in collection.get_items():
            problems += _item_problems(f"{collection.id}/{item.id}", item, extent)
    return problems


def _missing_files(where: str, obj: pystac.Collection | pystac.Item) -> list[str]:
    """Assets and ``derived_from`` links of ``obj`` whose files do not exist."""
    problems = [
        f"{where}: asset {key} -> missing {asset.get_absolute_href()}"
        for key, asset in obj.assets.items()
        if not Path(asset.get_absolute_href()).exists()
    ]
    problems += [
        f"{where}: derived_from -> missing {link.get_absolute_href()}"
        for link in obj.links
        if link.rel == "derived_from" and not Path(link.get_absolute_href()).exists()
    ]
    return problems


def _item_problems(where: str, item: pystac.Item, extent: list[float] | None) -> list[str]:
    """What is wrong with one item: geometry, bbox, extent, datetimes, assets, links."""
    if item.geometry is None or item.bbox is None:
        return [f"{where}: no geometry or bbox"]
    problems = []
    geom = shapely.geometry.shape(item.geometry)
    if not shapely.box(*item.bbox).buffer(1e-9).contains(geom):
        problems.append(f"{where}: bbox does not contain the geometry")
    if extent is not None and not shapely.box(*extent).buffer(1e-9).contains(geom):
        problems.append(f"{where}: outside its collection's spatial extent")
    if item.common_metadata.start_datetime is None or item.common_metadata.end_datetime is None:
        problems.append(f"{where}: no start/end datetime")
    if not item.assets:
        problems.append(f"{where}: no assets")
    return problems + _missing_files(where, item)
