"""Hand-made Landsat scenes and a MODIS composite over one 6 km tile, for the ingest tests."""

import numpy as np
import pandas as pd
from rasterio.transform import from_origin
from rasterio.warp import transform_bounds

from agrifactory.grid import Tile
from agrifactory.io import inventory, modis
from agrifactory.io.inventory import scan_landsat, scan_modis, validate_inventory
from agrifactory.io.landsat import parse_product_id
from agrifactory.io.landsat_mtl import write_mtl_json
from agrifactory.io.raster import write_raster

TILE = Tile(624, 246, 6)
# Reflectance 0.1 and 0.4 as Collection 2 DN: (0.1 + 0.2) / 2.75e-5 = 10909.1; (0.4 + 0.2) / 2.75e-5 = 21818.2
RED_DN, NIR_DN = 10909, 21818
RED, NIR = RED_DN * 2.75e-5 - 0.2, NIR_DN * 2.75e-5 - 0.2
NDVI = (NIR - RED) / (NIR + RED)  # 0.6000 to 5 decimals
CLEAR, CLOUD = 21824, 22280
#: The other reflectance bands of a full OLI scene as DN (blue 0.05, green 0.08, SWIR1 0.2,
#: SWIR2 0.1): a scene without one of them is a QA record (missing_bands).
OTHER_SR = {"SR_B2": 9091, "SR_B3": 10182, "SR_B6": 14545, "SR_B7": 10909}


def utm_grid():
    x0, y0, x1, y1 = transform_bounds(TILE.grid().crs, "EPSG:32650", *TILE.bounds)
    x0, y1 = np.floor(x0 / 30) * 30 - 900, np.ceil(y1 / 30) * 30 + 900
    w, h = int((x1 - x0) // 30) + 60, int((y1 - y0) // 30) + 60
    return from_origin(x0, y1, 30, 30), w, h


def write_scene(root, pid, bands, mtl=True):
    """Band files (suffix -> DN, or a function of (w, h)) and an MTL.json with the C2 constants."""
    transform, w, h = utm_grid()
    for suffix, value in bands.items():
        data = np.asarray(value(w, h) if callable(value) else np.full((h, w), value), np.uint16)
        write_raster(
            root / pid / f"{pid}_{suffix}.TIF",
            data,
            transform=transform,
            crs="EPSG:32650",
            nodata=None if suffix.startswith("QA") else 0,
        )
    if mtl:
        write_mtl_json(root / pid, parse_product_id(pid), list(bands))


def cloud_right_half(w, h):
    qa = np.full((h, w), CLEAR, np.uint16)
    qa[:, w // 2 :] = CLOUD
    return qa


def make_scenes(tmp_path):
    """Two Landsat dates (one half cloudy; one saturated without QA_PIXEL, blue and thermal),
    one untagged composite."""
    landsat = tmp_path / "landsat"
    write_scene(
        landsat,
        "LC08_L2SP_124031_20210614_20210624_02_T1",
        {
            "SR_B4": RED_DN,
            "SR_B5": NIR_DN,
            **OTHER_SR,
            "QA_PIXEL": cloud_right_half,
            "QA_RADSAT": 0,
        },
    )
    no_blue = {k: v for k, v in OTHER_SR.items() if k != "SR_B2"}
    write_scene(
        landsat,
        "LC08_L2SP_124031_20210630_20210710_02_T1",
        {"SR_B4": RED_DN, "SR_B5": NIR_DN, **no_blue, "QA_RADSAT": 1 << 4},
    )  # NIR (B5) saturated, no QA_PIXEL
    modis_dir = tmp_path / "modis"
    dn = np.full((40, 60), 5000, np.int16)
    dn[:, :30] = -3000
    lon0, _, _, lat1 = transform_bounds(TILE.grid().crs, "EPSG:4326", *TILE.bounds)
    write_raster(
        modis_dir / "MOD09Q1.A2021161.h26v04.061.NDVI.tif",
        dn,
        transform=from_origin(lon0 - 0.01, lat1 + 0.01, 1 / 480, 1 / 480),
        crs="EPSG:4326",
        nodata=-3000,
    )
    inv = pd.concat([scan_landsat(landsat), scan_modis(modis_dir)], ignore_index=True)
    return validate_inventory(inv, "test"), tmp_path


#: A footprint over the AOI of tests/test_plan.py's config (and config/test.yaml's).
FOOTPRINT = "POLYGON ((113.9 41.4, 114.4 41.4, 114.4 41.8, 113.9 41.8, 113.9 41.4))"
PID = "LC08_L2SP_124031_20210614_20210624_02_T1"
BANDS = ("SR_B2", "SR_B4", "SR_B5", "QA_PIXEL")


def write_inventories(
    tmp_path, landsat_ids=(PID,), modis_names=("MOD09Q1.A2021161.h26v04.061.NDVI.tif",)
):
    """Inventories of tiny files over the test AOI (the plan reads no pixel), as the ``inputs`` section."""
    rows = []
    for pid in landsat_ids:
        folder = tmp_path / "landsat" / pid
        folder.mkdir(parents=True)
        for band in BANDS:
            (folder / f"{pid}_{band}.TIF").write_bytes(b"1234")
        date = f"{pid[17:21]}-{pid[21:23]}-{pid[23:25]}"
        rows.append(("landsat", pid, date, str(folder), ";".join(BANDS), FOOTPRINT))
    for name in modis_names:
        path = tmp_path / "modis" / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(b"12345678")
        start = modis.date_from_name(name).isoformat()
        rows.append(("modis", path.stem, start, str(path), "", FOOTPRINT))
    table = pd.DataFrame(rows, columns=inventory.COLUMNS)
    paths = {}
    for sensor in ("landsat", "modis"):
        paths[f"{sensor}_inventory"] = str(tmp_path / f"{sensor}.csv")
        table[table.sensor == sensor].to_csv(paths[f"{sensor}_inventory"], index=False)
    return {**paths, "samples": None, "statistics": {}}


def ingest_scenes(inv, root, **settings):
    """Ingest ``inv``'s scenes onto TILE for 2021 into ``root/out``; the table and the outputs."""
    from agrifactory.ingest.rules import OUTPUTS, IngestSettings
    from agrifactory.ingest.tile import ingest_tile

    out = {name: root / "out" / file for name, file in OUTPUTS.items()}
    landsat, modis = inv[inv.sensor == "landsat"], inv[inv.sensor == "modis"]
    return ingest_tile(TILE, 2021, landsat, modis, out, IngestSettings(**settings)), out
