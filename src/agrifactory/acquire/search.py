"""STAC searches of one year over the run's area, turned into inventory rows.

Each item becomes one inventory row (:mod:`agrifactory.io.inventory`) whose
``assets`` column maps every band the ingest reads to its URL: band suffixes
(``SR_B4``, ``QA_PIXEL``...) for Landsat, the product's canonical names (``red``,
``nir``, ``qc``...) for MODIS. URLs are kept unsigned; the ingest signs them just
before it reads (:func:`agrifactory.io.remote.signed`).
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import re
from collections.abc import Callable, Mapping, Sequence
from pathlib import PurePosixPath
from typing import Any, TypeVar
from urllib.parse import urlparse

import pandas as pd
import shapely

from agrifactory.acquire.rules import (
    AcquireSettings,
    LandsatCollection,
    ModisCollection,
    ProviderProfile,
)
from agrifactory.errors import InputError
from agrifactory.io import inventory, landsat, remote
from agrifactory.io.inventory import FOOTPRINT_DECIMALS

log = logging.getLogger(__name__)

T = TypeVar("T")

_PRODUCT_ID_IN_NAME = re.compile(
    r"(L[COTEM]0\d_L2S[PR]_\d{6}_\d{8}_\d{8}_\d{2}_(?:T1|T2|RT))_(?:SR|ST|QA|MTL|ANG)"
)


def retried(call: Callable[[], T], what: str, settings: AcquireSettings) -> T:
    """``call()`` with the acquisition's retries; then an :class:`InputError` naming ``what``."""
    try:
        return remote.retried(
            call,
            what,
            retries=settings.retries,
            wait_s=settings.retry_wait_s,
            # The API refused the request itself (4xx): asking again will not help.
            permanent=lambda exc: 400 <= (getattr(exc, "status_code", None) or 0) < 500,
        )
    except Exception as exc:  # noqa: BLE001 - any failure of the search is reported the same way
        raise InputError(
            what,
            f"the search failed: {exc}",
            "check the URL, the network and the provider's status; then run again",
        ) from None


def asset_href(item: Any, keys: str | Sequence[str]) -> str | None:
    """The href of the first of ``keys`` that the item has, or None."""
    for key in [keys] if isinstance(keys, str) else keys:
        if key in item.assets:
            return item.assets[key].href
    return None


def _missing_asset(item: Any, band: str, keys: str | Sequence[str], collection: str) -> InputError:
    return InputError(
        item.get_self_href() or item.id,
        f"item {item.id} of collection {collection} has no asset {keys!r} for the {band} band "
        f"(its assets: {sorted(item.assets)})",
        "fix the provider profile's asset keys (acquire.providers.<name>.landsat.assets / "
        "modis.assets) or leave the item out of the catalogue",
    )


def footprint_wkt(item: Any) -> str:
    """The item's geometry as WKT (EPSG:4326), rounded as the inventory scanner rounds."""
    geom = shapely.geometry.shape(item.geometry)
    return shapely.to_wkt(geom, rounding_precision=FOOTPRINT_DECIMALS)


def landsat_row(item: Any, spec: LandsatCollection) -> tuple[str, ...]:
    """One inventory row of a Landsat item (the product id from its assets' file names)."""
    hrefs = {}
    for band, keys in spec.assets.items():
        href = asset_href(item, keys)
        if href is None:
            if band in ("red", "nir"):
                raise _missing_asset(item, band, keys, spec.collection)
            continue
        hrefs[band] = href
    name = PurePosixPath(urlparse(hrefs["red"]).path).name
    m = _PRODUCT_ID_IN_NAME.match(name)
    if not m:
        raise InputError(
            hrefs["red"],
            f"item {item.id}: no Collection 2 product id in the red band's file name {name!r}",
            "expected names like LC08_L2SP_124031_20210105_20210115_02_T1_SR_B4.TIF",
        )
    pid = landsat.parse_product_id(m.group(1), source=hrefs["red"])
    assets = {b if b.isupper() else pid.band_suffix(b): h for b, h in hrefs.items()}
    return (
        "landsat",
        pid.text,
        pid.acquired.isoformat(),
        item.get_self_href() or item.id,
        ";".join(sorted(assets)),
        footprint_wkt(item),
        json.dumps(dict(sorted(assets.items()))),
    )


def modis_date(item: Any) -> dt.date:
    """The composite's start date: ``start_datetime`` where the item has it, else its datetime."""
    start = item.properties.get("start_datetime")
    if start:
        return dt.date.fromisoformat(start[:10])
    return item.datetime.date()


def modis_row(item: Any, spec: ModisCollection) -> tuple[str, ...]:
    """One inventory row of a MODIS item (its assets under the product's canonical names)."""
    hrefs = {}
    for name, key in spec.assets.items():
        href = asset_href(item, key)
        if href is None:
            raise _missing_asset(item, name, key, spec.collection)
        hrefs[name] = href
    return (
        "modis",
        item.id,
        modis_date(item).isoformat(),
        item.get_self_href() or item.id,
        ";".join(sorted(hrefs)),
        footprint_wkt(item),
        json.dumps(dict(sorted(hrefs.items()))),
    )


def search_items(
    profile: ProviderProfile,
    collection: str,
    bbox: Sequence[float],
    window: tuple[dt.date, dt.date],
    settings: AcquireSettings,
    cql2: Mapping[str, Any] | None = None,
) -> list[Any]:
    """Every item of ``collection`` that intersects ``bbox`` within the dates of ``window``."""
    from pystac_client import Client

    client = retried(
        lambda: Client.open(profile.api_url, timeout=settings.timeout_s),
        profile.api_url,
        settings,
    )
    start, end = window
    search = client.search(
        collections=[collection],
        bbox=list(bbox),
        datetime=f"{start.isoformat()}T00:00:00Z/{end.isoformat()}T23:59:59Z",
        filter=dict(cql2) if cql2 else None,
        filter_lang="cql2-json" if cql2 else None,
        limit=settings.page_size,
    )
    items = retried(lambda: list(search.items()), f"{profile.api_url} ({collection})", settings)
    log.info(
        "%s: %d item(s) of %s from %s to %s",
        profile.api_url,
        len(items),
        collection,
        start,
        end,
    )
    return items


def landsat_filter(spec: LandsatCollection) -> dict[str, Any]:
    """The CQL2-JSON filter (STAC API filter extension) for platforms and cloud cover."""
    return {
        "op": "and",
        "args": [
            {"op": "in", "args": [{"property": "platform"}, list(spec.platforms)]},
            {"op": "<=", "args": [{"property": "eo:cloud_cover"}, spec.max_cloud_cover]},
        ],
    }


def acquire_tables(
    settings: AcquireSettings, bbox: Sequence[float], year: int, margin_days: int
) -> dict[str, pd.DataFrame]:
    """The Landsat and MODIS inventories of one year (plus the margin) over ``bbox`` (lon/lat)."""
    profile = settings.profile()
    window = inventory.year_window(year, margin_days)
    tables = {}
    for sensor in ("landsat", "modis"):
        spec = getattr(profile, sensor)
        if spec is None:
            raise InputError(
                profile.api_url,
                f"provider {settings.provider!r} has no {sensor} collection",
                "choose a provider that has both sensors, or add your own under acquire.providers",
            )
        if sensor == "landsat":
            items = search_items(
                profile, spec.collection, bbox, window, settings, landsat_filter(spec)
            )
            rows = [landsat_row(item, spec) for item in items]
        else:
            items = search_items(profile, spec.collection, bbox, window, settings)
            rows = [modis_row(item, spec) for item in items]
        table = pd.DataFrame(rows, columns=inventory.COLUMNS_WITH_ASSETS)
        tables[sensor] = table.drop_duplicates("id")
    return tables


def acquire_year(
    settings: AcquireSettings,
    bbox: Sequence[float],
    year: int,
    margin_days: int,
    outputs: Mapping[str, str],
) -> None:
    """Search both sensors and write their inventories (validated as the ingest reads them)."""
    tables = acquire_tables(settings, bbox, year, margin_days)
    for sensor, table in tables.items():
        inventory.validate_inventory(table, f"{settings.provider} {sensor} search")
        inventory.write_inventory(table, outputs[sensor])
        log.info("wrote %d %s row(s) to %s", len(table), sensor, outputs[sensor])
