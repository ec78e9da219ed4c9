"""General subcommands: ``tiles``, ``inventory``, ``schema`` and ``where``."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from agrifactory import grid


def _tiles(args: argparse.Namespace) -> int:
    from agrifactory import boundaries, tiles

    if args.china:
        units = boundaries.to_albers(boundaries.load_units("province", mainland_only=True))
        tile_list = tiles.tiles_for_units(units, args.tile_km)
    else:
        tile_list = grid.tiles_for_aoi(args.aoi, args.tile_km)
    text = "".join(f"{t.id}\n" for t in tile_list)
    if args.output:
        from agrifactory.io.files import write_text_atomic

        header = f"# {len(tile_list)} tiles of {args.tile_km} km ({'mainland China' if args.china else f'AOI {args.aoi}'})\n"
        write_text_atomic(args.output, header + text)
    else:
        sys.stdout.write(text)
    print(f"{len(tile_list)} tiles of {args.tile_km} km", file=sys.stderr)
    return 0


def _inventory(args: argparse.Namespace) -> int:
    from agrifactory.io import inventory

    scan = inventory.scan_landsat if args.sensor == "landsat" else inventory.scan_modis
    table = scan(args.directory)
    inventory.write_inventory(table, args.output)
    print(f"{len(table)} {args.sensor} entries written to {args.output}", file=sys.stderr)
    return 0


def _where(args: argparse.Namespace) -> int:
    results = Path(args.results)
    if not results.is_dir():
        print(f"no results yet in {results}/ (run 'make demo')")
        return 1
    print(f"Products are in {results.resolve()}/:")
    rows: list[tuple[str, str]] = []
    if (results / "report.html").exists():
        rows.append(("report (open in a browser)", str(results / "report.html")))
    if (results / "tiles.gpkg").exists():
        rows.append(("tile index", str(results / "tiles.gpkg")))
    tile_dirs = sorted(p for p in (results / "tiles").glob("*/*") if p.is_dir())
    if tile_dirs:
        stages = sorted({s.name for d in tile_dirs for s in d.iterdir() if s.is_dir()})
        rows.append(
            (
                "per tile and year",
                f"{results}/tiles/<tile>/<year>/<stage>/  ({len(tile_dirs)} tile-years; "
                f"stages: {', '.join(stages)})",
            )
        )
    for name, label in (
        ("mosaics", "VRT mosaics (open in QGIS)"),
        ("stac", "STAC catalog"),
        ("models", "trained models"),
        ("training", "classification training sets"),
        ("accuracy", "accuracy assessment"),
        ("active_learning", "active-learning proposals"),
        ("transfer", "cross-region transfer"),
        ("soil_moisture", "soil-moisture evaluation"),
        ("demo/inputs", "demo inputs"),
        ("demo/truth", "demo truth (evaluation only)"),
        ("boundaries", "boundaries"),
        ("aggregate", "province/county tables"),
        ("report", "report figures and tables"),
        ("logs", "logs"),
        ("benchmarks", "run time and peak memory per job"),
    ):
        if (results / name).exists():
            rows.append((label, f"{results / name}/"))
    if (results / "manifest.sha256").exists():
        rows.append(("manifest (sha256sum -c)", str(results / "manifest.sha256")))
    width = max(len(label) for label, _ in rows) if rows else 0
    for label, where in rows:
        print(f"  {label:<{width}}  {where}")
    return 0


def _schema(args: argparse.Namespace) -> int:
    from agrifactory.config import schema_yaml
    from agrifactory.io.files import write_text_atomic

    text = schema_yaml()
    if args.output:
        write_text_atomic(args.output, text)
        print(f"config schema written to {args.output}", file=sys.stderr)
    else:
        sys.stdout.write(text)
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    """Add the general subcommands."""
    p = sub.add_parser("tiles", help="list the tiles of an AOI or of mainland China")
    where = p.add_mutually_exclusive_group(required=True)
    where.add_argument(
        "--china", action="store_true", help="every tile over the 31 mainland provinces"
    )
    where.add_argument("--aoi", type=float, nargs=4, metavar=("LON0", "LAT0", "LON1", "LAT1"))
    p.add_argument("--tile-km", type=int, default=120, help="tile edge in km (multiple of 3)")
    p.add_argument("-o", "--output", help="write the ids to this file (default: stdout)")
    p.set_defaults(func=_tiles)

    p = sub.add_parser(
        "inventory",
        help="scan a folder of Landsat scenes or MODIS composites into an inventory CSV",
    )
    p.add_argument("sensor", choices=["landsat", "modis"])
    p.add_argument("directory")
    p.add_argument("-o", "--output", required=True)
    p.set_defaults(func=_inventory)

    p = sub.add_parser(
        "schema", help="write the config's JSON schema, generated from the settings models"
    )
    p.add_argument("-o", "--output", help="write to this file (default: stdout)")
    p.set_defaults(func=_schema)

    p = sub.add_parser("where", help="say where the products of a run are")
    p.add_argument("--results", default="results")
    p.add_argument("--configfile", help="accepted for symmetry with snakemake; not needed")
    p.set_defaults(func=_where)
