"""The demo's scenes published as a STAC catalogue: files served by nginx, items in pgstac.

Landsat items look like the Planetary Computer's ``landsat-c2-l2`` items (its asset
keys, ids without the processing date, ``platform``, ``eo:cloud_cover``, ``proj:epsg``);
the demo's MODIS composites are NDVI files, so their collection uses a profile of
its own (product ``ndvi``, asset ``ndvi``), as a user's own API would.
"""

from __future__ import annotations

import datetime as dt
import shutil
from pathlib import Path
from typing import Any

import rasterio
import shapely

from agrifactory.acquire.rules import LandsatCollection
from agrifactory.io import inventory, landsat, modis

EXTENSIONS = [
    "https://stac-extensions.github.io/eo/v1.1.0/schema.json",
    "https://stac-extensions.github.io/projection/v1.1.0/schema.json",
]
MODIS_COLLECTION = "demo-modis-ndvi"
PLATFORMS = {"LC08": "landsat-8", "LC09": "landsat-9", "LE07": "landsat-7", "LT05": "landsat-5"}


def collection(cid: str, description: str) -> dict[str, Any]:
    return {
        "type": "Collection",
        "stac_version": "1.0.0",
        "id": cid,
        "description": description,
        "license": "proprietary",
        "links": [],
        "extent": {
            "spatial": {"bbox": [[-180, -90, 180, 90]]},
            "temporal": {"interval": [["2000-01-01T00:00:00Z", None]]},
        },
    }


def _item(cid: str, item_id: str, row: Any, assets: dict, properties: dict) -> dict[str, Any]:
    geom = shapely.from_wkt(row["footprint"])
    return {
        "type": "Feature",
        "stac_version": "1.0.0",
        "stac_extensions": EXTENSIONS,
        "id": item_id,
        "collection": cid,
        "geometry": shapely.geometry.mapping(geom),
        "bbox": list(geom.bounds),
        "properties": properties,
        "links": [],
        "assets": assets,
    }


def _asset(href: str, path: Path) -> dict[str, Any]:
    with rasterio.open(path) as src:
        epsg = src.crs.to_epsg()
        shape = [src.height, src.width]
    return {
        "href": href,
        "type": "image/tiff; application=geotiff; profile=cloud-optimized",
        "roles": ["data"],
        "proj:epsg": epsg,
        "proj:shape": shape,
    }


def landsat_item(row: Any, root: Path, base_url: str) -> dict[str, Any]:
    """A Planetary-Computer-style item of one demo scene (its files under ``root``)."""
    pid = landsat.parse_product_id(row["id"])
    keys = {}
    for band, key in LandsatCollection().assets.items():
        suffix = band if band.isupper() else pid.band_suffix(band)
        keys[suffix] = key if isinstance(key, str) else key[0]
    assets = {}
    for suffix in inventory.scene_bands(row):
        if suffix == "MTL":
            rel = Path(row["path"]).relative_to(root) / f"{pid.text}_MTL.json"
            assets[keys[suffix]] = {
                "href": f"{base_url}/{rel}",
                "type": "application/json",
                "roles": ["metadata"],
            }
            continue
        rel = Path(row["path"]).relative_to(root) / f"{pid.text}_{suffix}.TIF"
        assets[keys[suffix]] = _asset(f"{base_url}/{rel}", root / rel)
    when = dt.datetime.combine(pid.acquired, dt.time(3, 0)).isoformat() + "Z"
    properties = {
        "datetime": when,
        "platform": PLATFORMS[pid.sensor],
        "eo:cloud_cover": 10.0,
        "proj:epsg": assets["red"]["proj:epsg"],
    }
    # Planetary Computer's ids leave out the processing date.
    item_id = f"{pid.text[:25]}{pid.text[34:]}"
    return _item("landsat-c2-l2", item_id, row, assets, properties)


def modis_item(row: Any, root: Path, base_url: str) -> dict[str, Any]:
    """An item of one demo composite: its start and end dates, one ``ndvi`` asset."""
    rel = Path(row["path"]).relative_to(root)
    start = modis.date_from_name(rel)
    end = start + dt.timedelta(days=modis.COMPOSITE_DAYS - 1)
    properties = {
        "datetime": None,
        "start_datetime": f"{start.isoformat()}T00:00:00Z",
        "end_datetime": f"{end.isoformat()}T23:59:59Z",
        "platform": "terra",
    }
    assets = {"ndvi": _asset(f"{base_url}/{rel}", root / rel)}
    return _item(MODIS_COLLECTION, row["id"], row, assets, properties)


def publish_demo(workdir: Path, services: Any, subdir: str = "demo") -> dict[str, Any]:
    """Copy a demo run's scenes under the served folder, load their items; the acquire config."""
    inputs = workdir / "results/demo/inputs"
    served = Path(services.cog_root) / subdir
    for folder in ("landsat", "modis"):
        shutil.copytree(inputs / folder, served / folder, dirs_exist_ok=True)
    base_url = f"{services.http_url}/{subdir}"
    items = []
    for name, make in (("landsat", landsat_item), ("modis", modis_item)):
        table = inventory.read_inventory(inputs / "inventory/2021" / f"{name}_inventory.csv")
        for _, row in table.iterrows():
            row = row.copy()
            row["path"] = str(served / Path(row["path"]).relative_to("results/demo/inputs"))
            items.append(make(row, served, base_url))
    services.load(
        [
            collection("landsat-c2-l2", "The demo's Landsat scenes"),
            collection(MODIS_COLLECTION, "The demo's MODIS NDVI composites"),
        ],
        items,
    )
    return {**local_provider(services.api_url), "retry_wait_s": 0.1}


def local_provider(api_url: str) -> dict[str, Any]:
    """The ``acquire`` section of a user's own API with the demo's collections."""
    modis = {"collection": MODIS_COLLECTION, "product": "ndvi", "assets": {"ndvi": "ndvi"}}
    return {"provider": "local", "providers": {"local": {"api_url": api_url, "modis": modis}}}
