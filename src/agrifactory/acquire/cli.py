"""``agrifactory acquire``: search a STAC API for a config's tiles and years, write inventories."""

from __future__ import annotations

import argparse
import logging
from pathlib import Path

import yaml

log = logging.getLogger(__name__)


def _acquire(args: argparse.Namespace) -> int:
    from snakemake.utils import update_config  # merges config files as Snakemake does

    from agrifactory.acquire.rules import acquire_outputs
    from agrifactory.acquire.search import acquire_year
    from agrifactory.config import build_settings
    from agrifactory.plan import plan_tiles, tiles_lonlat_bbox

    config: dict = {}
    for path in args.configfile:
        update_config(config, yaml.safe_load(Path(path).read_text(encoding="utf-8")) or {})
    if args.provider:
        config.setdefault("acquire", {})["provider"] = args.provider
    settings = build_settings(config)
    tiles = plan_tiles(settings.grid.model_dump())
    bbox = args.bbox or tiles_lonlat_bbox(tiles)
    years = args.year or settings.years
    for year in years:
        outputs = acquire_outputs(str(Path(args.output) / str(year)))
        acquire_year(settings.acquire, bbox, year, settings.ingest.margin_days, outputs)
        print(f"{year}: {outputs['landsat']}, {outputs['modis']}")
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    """Add the ``acquire`` subcommand."""
    p = sub.add_parser(
        "acquire",
        help="search a STAC API (acquire.provider) for the tiles and years of a config",
        description=(
            "Search the STAC API of the config's acquire.provider over the config's tiles for "
            "each year (plus ingest.margin_days) and write <output>/<year>/landsat_inventory.csv "
            "and modis_inventory.csv, with asset URLs. Point inputs.landsat_inventory and "
            "inputs.modis_inventory at them, or set inputs.source: stac to let the workflow "
            "search by itself."
        ),
    )
    p.add_argument("--configfile", nargs="+", required=True, help="config file(s), later wins")
    p.add_argument("--year", type=int, nargs="+", help="years (default: the config's)")
    p.add_argument("--provider", help="provider profile (default: the config's acquire.provider)")
    p.add_argument(
        "--bbox",
        type=float,
        nargs=4,
        metavar=("LON_MIN", "LAT_MIN", "LON_MAX", "LAT_MAX"),
        help="search this box instead of the tiles' (degrees)",
    )
    p.add_argument("-o", "--output", default="results/acquire", help="output folder")
    p.set_defaults(func=_acquire)
