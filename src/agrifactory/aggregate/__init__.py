"""Aggregation: class areas per province and county, and comparison with official statistics.

The stage turns the per-tile class maps (cropland, irrigation, crop type) into
areas per administrative unit and sets them beside the official figures. Its
modules:

``classes``
    The products the stage counts, their class names (from
    :mod:`agrifactory.legend`) and which class a statistic's quantity means.
``zonal``
    Per-tile partial areas: every class's area per unit, from the exact
    fraction of each 30 m pixel inside each unit (``exactextract``), or by
    pixel centre; plus the area inside the union of the units (the "country"
    row, adcode ``100000``) that the conservation check compares against.
``sums``
    Sums the per-tile partial tables, checks conservation (the sum over units
    equals the area inside the country) and widens the result into one row per
    unit.
``compare``
    Mapped versus official areas: differences, the within-±10 % flag and count,
    R² and RMSE across units, "no statistic" and "not mapped" rows, the national
    total, and the area-adjusted estimates of the accuracy assessment beside
    the pixel counts.
``sources``
    Every cropland map of the integration stage (the factory's own, the other
    products, the majority vote, the integrated map) counted per unit and set
    against the official statistics side by side: the CropLayer table.
``accuracy``
    Reader of the accuracy assessment's stratified area estimates.
``rules``
    The stage's contract: settings (config section ``aggregate``), output names
    and one function per rule (``aggregate_tile``, ``aggregate``,
    ``aggregate_sources_tile``, ``aggregate_sources``).

See ``docs/aggregation.md`` for the method and the columns of every table.
"""
