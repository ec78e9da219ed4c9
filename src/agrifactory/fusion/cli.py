"""``agrifactory fuse``: ESTARFM on any five co-registered rasters."""

from __future__ import annotations

import argparse
import logging
import time
from pathlib import Path
from typing import Any

import numpy as np
from pyproj import CRS

from agrifactory.backend import BACKENDS, resolve_backend, to_numpy
from agrifactory.errors import GridError, InputError
from agrifactory.fusion.estarfm import fuse
from agrifactory.fusion.params import LAYOUTS, QA_NAMES, EstarfmParams
from agrifactory.io.raster import open_raster, write_raster

log = logging.getLogger(__name__)

ROLES = ("F1 (fine, date 1)", "C1 (coarse, date 1)", "F2 (fine, date 2)", "C2 (coarse, date 2)",
         "C0 (coarse, target date)")  # fmt: skip


def read_input(path: str | Path) -> tuple[np.ndarray, dict[str, Any]]:
    """All bands of a raster as float64 (its nodata value as NaN) and its grid."""
    with open_raster(path, need_crs=False) as src:
        try:
            data = src.read().astype(np.float64)
        except Exception as exc:  # GDAL decoding errors
            raise InputError(
                path, f"pixel data cannot be decoded ({exc})", "replace the file"
            ) from None
        nodata = src.nodata
        meta = {
            "crs": src.crs,
            "transform": src.transform,
            "shape": (src.count, src.height, src.width),
            "descriptions": list(src.descriptions),
        }
    if nodata is not None and not np.isnan(nodata):
        data[data == nodata] = np.nan
    return data, meta


def check_same_grid(metas: list[dict[str, Any]], paths: list[str]) -> None:
    """Raise :class:`GridError` naming the first file whose grid differs from the first's."""
    ref, ref_path = metas[0], paths[0]
    for meta, path, role in zip(metas[1:], paths[1:], ROLES[1:], strict=True):
        problems = []
        if meta["shape"] != ref["shape"]:
            problems.append(f"(bands, rows, cols) {meta['shape']} vs {ref['shape']}")
        same_crs = (meta["crs"] is None and ref["crs"] is None) or (
            meta["crs"] is not None
            and ref["crs"] is not None
            and CRS.from_user_input(meta["crs"]) == CRS.from_user_input(ref["crs"])
        )
        if not same_crs:
            problems.append(f"CRS {meta['crs']} vs {ref['crs']}")
        if not meta["transform"].almost_equals(ref["transform"], precision=1e-9):
            problems.append(
                f"transform {tuple(meta['transform'])[:6]} vs {tuple(ref['transform'])[:6]}"
            )
        if problems:
            raise GridError(
                f"{path} ({role}) is not on the grid of {ref_path}: {'; '.join(problems)}; "
                "resample every image onto the fine grid (same size, CRS and transform) first"
            )


def run(args: argparse.Namespace) -> int:
    """Read the five rasters, fuse them and write the prediction (and QA) GeoTIFF."""
    paths = [args.fine1, args.coarse1, args.fine2, args.coarse2, args.coarse0]
    arrays, metas = zip(*(read_input(p) for p in paths), strict=True)
    check_same_grid(list(metas), paths)
    values = {
        "half_window": args.half_window,
        "classes": args.classes,
        "valid_range": tuple(args.valid_range),
        "background": None if args.no_background else args.background,
        "block_size": args.block_size,
        "layout": args.layout,
    }
    params = EstarfmParams.build(values, "")
    xp = resolve_backend(args.backend)
    log.info(
        "fusing %s x %s pixels, %d band(s), on %s",
        *metas[0]["shape"][1:],
        metas[0]["shape"][0],
        xp.__name__,
    )
    start = time.perf_counter()
    pred, qa = fuse(*(xp.asarray(a) for a in arrays), params)
    pred, qa = to_numpy(pred), to_numpy(qa)
    log.info("fused in %.1f s", time.perf_counter() - start)
    counts = {QA_NAMES[k]: int((qa == k).sum()) for k in QA_NAMES}
    log.info("QA (band-pixels): %s", counts)
    tags = {"algorithm": "ESTARFM (Zhu et al. 2010)", "inputs": " ".join(str(p) for p in paths),
            **{f"param_{k}": v for k, v in params.model_dump().items()}}  # fmt: skip
    grid = {"transform": metas[0]["transform"], "crs": metas[0]["crs"]}
    names = metas[0]["descriptions"] if all(metas[0]["descriptions"]) else None
    write_raster(
        args.out, pred.astype(np.float32), nodata=np.nan, band_names=names, tags=tags, **grid
    )
    log.info("wrote %s", args.out)
    if args.qa:
        qa_tags = {"flags": ", ".join(f"{k}={v}" for k, v in QA_NAMES.items())}
        write_raster(args.qa, qa, nodata=None, tags=qa_tags, **grid)
        log.info("wrote %s", args.qa)
    return 0


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add ``fuse`` to the ``agrifactory`` command."""
    p = subparsers.add_parser(
        "fuse",
        help="ESTARFM: predict a fine image from two fine/coarse pairs and a coarse image",
        description=(
            "Predict the fine image at a target date with ESTARFM (Zhu et al. 2010) from "
            "two fine/coarse base pairs and the coarse image of the target date. All five "
            "rasters (GeoTIFF, ENVI, anything rasterio reads) must share size, bands, CRS "
            "and transform: resample the coarse images onto the fine grid first."
        ),
    )
    p.add_argument("fine1", help="fine image at base date 1")
    p.add_argument("coarse1", help="coarse image at base date 1 (on the fine grid)")
    p.add_argument("fine2", help="fine image at base date 2")
    p.add_argument("coarse2", help="coarse image at base date 2")
    p.add_argument("coarse0", help="coarse image at the target date")
    p.add_argument("--out", required=True, help="output float32 GeoTIFF (NaN where not predicted)")
    p.add_argument(
        "--qa",
        help="optional uint8 GeoTIFF of QA flags: "
        + ", ".join(f"{k}={v}" for k, v in QA_NAMES.items()),
    )
    d = EstarfmParams()
    p.add_argument(
        "--half-window", type=int, default=d.half_window, help="half window w (default %(default)s)"
    )
    p.add_argument(
        "--classes", type=float, default=d.classes, help="number of classes (default %(default)s)"
    )
    p.add_argument("--valid-range", type=float, nargs=2, metavar=("MIN", "MAX"), default=list(d.valid_range),
                   help="valid data range (default %(default)s; NDVI: -1 1)")  # fmt: skip
    p.add_argument("--background", type=float, default=d.background,
                   help="value of missing pixels besides NaN and the files' nodata (default %(default)s)")  # fmt: skip
    p.add_argument(
        "--no-background",
        action="store_true",
        help="no background value: only NaN/nodata is missing",
    )
    p.add_argument(
        "--block-size", type=int, default=d.block_size, help="block size (default %(default)s)"
    )
    p.add_argument("--layout", choices=LAYOUTS, default=d.layout,
                   help="block layout: 'reference' (authors' blocks) or 'halo' (seamless; default)")  # fmt: skip
    p.add_argument("--backend", choices=BACKENDS, default="auto",
                   help="array back end (default %(default)s: CuPy when a GPU is usable)")  # fmt: skip
    p.set_defaults(func=run)
