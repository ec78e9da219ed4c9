"""The change stage's contract: its settings, its output names, one function per rule.

With two or more consecutive run years, the factory says how every class map changed
from the previous year and flags what looks implausible (docs/change.md). Rules
(``workflow/rules/change.smk``; a year runs when the year before it is a run year too):

``change_tile``
    Per tile-year: every product's pair codes (previous year's class x 16 + this
    year's) as a COG, the transitions per province and county as a partial table
    (counted by the aggregation stage's zonal sums), and the flagged blocks: blocks
    where more than ``max_flip_share`` of the pixels mapped in both years changed
    class, and blocks holding a transition listed in ``implausible``.
``change``
    Fan-in per year: the partial tables summed; per product and level the transition
    table (unit, from class, to class, pixels, km2); every tile's flags; an HTML page
    with a transition matrix per province.

This module imports no heavy library at module level.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Annotated, Any

from pydantic import Field, model_validator

from agrifactory.aggregate.rules import Product
from agrifactory.io.files import in_folder
from agrifactory.settings import Settings

#: A ``[from, to]`` pair of class names.
ClassPair = Annotated[list[str], Field(min_length=2, max_length=2)]


class ChangeSettings(Settings):
    """Year-to-year change of the class maps between consecutive run years
    (docs/change.md). Runs for every run year whose previous year is a run year."""

    products: Annotated[list[Product], Field(min_length=1)] = ["cropland", "croptype"]
    """Class products whose transitions are counted and flagged."""

    block_m: Annotated[int, Field(ge=30)] = 1500
    """Edge of the square blocks (m) on which flips are counted: the integration
    stage's block lattice. A multiple of the 30 m pixel that divides the tile edge."""

    max_flip_share: Annotated[float, Field(ge=0, lt=1)] = 0.5
    """A block is flagged when more than this share of its pixels mapped in both years
    changed class."""

    min_pixels: Annotated[int, Field(ge=1)] = 100
    """Least pixels mapped in both years for a block's flip share to be judged."""

    implausible_min_pixels: Annotated[int, Field(ge=1)] = 36
    """An implausible transition is flagged in a block where it covers at least this
    many pixels (a small field; scattered pixels at field edges are map noise)."""

    implausible: dict[Product, list[ClassPair]] = {}
    """Per product, [from, to] class-name pairs flagged in every block where they occur
    (e.g. croptype: [[sugar_beet, potato]] where that rotation is not practised)."""

    @model_validator(mode="after")
    def _check(self) -> ChangeSettings:
        if self.block_m % 30:
            raise ValueError(f"change.block_m ({self.block_m}) is not a multiple of 30 m")
        for product, pairs in self.implausible.items():
            if product not in self.products:
                raise ValueError(
                    f"change.implausible.{product}: {product} is not among change.products "
                    f"{self.products}; add it there or drop its pairs"
                )
            self.pair_codes(product, pairs)
        return self

    def pair_codes(
        self, product: str, pairs: Sequence[Sequence[str]] | None = None
    ) -> list[tuple[int, int]]:
        """The ``(from, to)`` class codes of a product's implausible pairs (ValueError
        naming ``change.implausible`` and the legend for an unknown class name)."""
        from agrifactory.aggregate.classes import PRODUCTS

        legend_ = PRODUCTS[product]
        codes = {name: code for code, name in legend_.items()}
        out = []
        for i, pair in enumerate(self.implausible.get(product, []) if pairs is None else pairs):
            unknown = [name for name in pair if name not in codes]
            if unknown:
                raise ValueError(
                    f"change.implausible.{product}[{i}]: {unknown} not in the {product} "
                    f"legend; known classes: {sorted(codes)}"
                )
            out.append((codes[pair[0]], codes[pair[1]]))
        return out


# --- output names ----------------------------------------------------------------

#: A product's pair-code raster, in the tile-year's ``change`` folder.
CHANGE_RASTER = "{product}_change.tif"
#: Files of rule ``change_tile`` besides the rasters, in the tile-year's ``change`` folder.
TILE_OUTPUTS: dict[str, str] = {"partial": "transitions.csv", "flags": "flags.csv"}
#: A product's transition table per level, in the year's ``change`` folder.
TRANSITIONS = "transitions_{product}_{level}.csv"
#: Files of rule ``change`` besides the transition tables, in the year's folder.
YEAR_OUTPUTS: dict[str, str] = {"flags": "flags.csv", "page": "transitions.html"}


def tile_outputs(folder: str, products: Sequence[str]) -> dict[str, str]:
    """Rule ``change_tile``'s outputs in ``folder``: one raster per product (keyed by the
    product) and :data:`TILE_OUTPUTS`."""
    rasters = {p: f"{folder}/{CHANGE_RASTER.format(product=p)}" for p in products}
    return {**rasters, **in_folder(folder, TILE_OUTPUTS)}


def year_outputs(folder: str, products: Sequence[str], levels: Sequence[str]) -> dict[str, str]:
    """Rule ``change``'s outputs in ``folder``: ``<product>_<level>`` transition tables
    and :data:`YEAR_OUTPUTS`."""
    tables = {
        f"{p}_{level}": f"{folder}/{TRANSITIONS.format(product=p, level=level)}"
        for p in products
        for level in levels
    }
    return {**tables, **in_folder(folder, YEAR_OUTPUTS)}


# --- rules -----------------------------------------------------------------------


def _settings(job: Any) -> ChangeSettings:
    from agrifactory.logs import setup_logging

    setup_logging(job.log[0])
    return ChangeSettings.build(job.params.change, "change")


def change_tile(job: Any) -> None:
    """Rule ``change_tile``: one tile's pair codes, transitions per unit and flagged
    blocks between the previous year and this one."""
    from agrifactory.aggregate import sums, zonal
    from agrifactory.change import flags, transitions
    from agrifactory.grid import Tile, job_grid
    from agrifactory.io.tables import write_table

    settings = _settings(job)
    p = job.params
    tile = Tile.from_id(job.wildcards.tile, p.tile_km, job_grid(p))
    paths = {"province": job.input.provinces, "county": job.input.counties}
    units = {level: zonal.read_units_near(paths[level], tile) for level in p.levels}
    pairs = {
        product: transitions.read_pair_codes(
            job.input[f"previous_{product}"], job.input[product], product, tile.grid()
        )
        for product in settings.products
    }
    table = transitions.transition_sums(
        pairs, tile, zonal.prepare_levels(units, tile), method=p.method
    )
    years = (int(job.wildcards.year) - 1, int(job.wildcards.year))
    for product, codes in pairs.items():
        transitions.write_pair_raster(job.output[product], codes, tile.grid(), product, years)
    sums.write_partial(table, job.output.partial)
    write_table(flags.tile_flags(pairs, tile, settings), job.output.flags)


def change(job: Any) -> None:
    """Rule ``change``: a year's transitions per unit, every tile's flags, the page."""
    from agrifactory import boundaries
    from agrifactory.aggregate.sums import check_conservation, combine_partials
    from agrifactory.change import flags, pages, transitions
    from agrifactory.io.tables import write_table

    settings = _settings(job)
    areas = combine_partials(job.input.partials)
    check_conservation(areas)
    tables = {}
    for level in job.params.levels:
        units = boundaries.read_units(job.input[level])
        for product in settings.products:
            table = transitions.transition_table(areas, units, level, product)
            write_table(table, job.output[f"{product}_{level}"])
            tables[product, level] = table
    flagged = flags.read_flags(job.input.flags)
    write_table(flagged, job.output.flags)
    year = int(job.wildcards.year)
    pages.transitions_page(tables, flagged, settings, (year - 1, year), job.output.page)
