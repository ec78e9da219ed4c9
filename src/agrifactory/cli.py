"""The ``agrifactory`` command line.

Each subcommand lives beside the code it drives, in a module that defines
``register(subparsers)``; this file only lists those modules.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import sys

from agrifactory.errors import AgrifactoryError
from agrifactory.logs import setup_logging

#: Modules that add subcommands (each defines ``register(subparsers)``).
SUBCOMMAND_MODULES: list[str] = [
    "agrifactory.commands",
    "agrifactory.fusion.cli",
    "agrifactory.acquire.cli",
]


def build_parser() -> argparse.ArgumentParser:
    """The argument parser with every registered subcommand."""
    parser = argparse.ArgumentParser(prog="agrifactory", description=__doc__.splitlines()[0])
    parser.add_argument("-v", "--verbose", action="store_true", help="log debug messages")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name in SUBCOMMAND_MODULES:
        importlib.import_module(name).register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run the command line; errors of the factory print one clear line and exit 2."""
    parser = build_parser()
    args = parser.parse_args(argv)
    setup_logging(level=logging.DEBUG if args.verbose else logging.INFO)
    try:
        return int(args.func(args) or 0)
    except AgrifactoryError as exc:
        print(f"agrifactory {args.command}: error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
