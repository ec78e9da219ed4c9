"""The class products the aggregation counts, and the names of their classes."""

from __future__ import annotations

from agrifactory import legend

#: The uint8 class products, by the file stem they have under ``classify/``.
PRODUCTS: dict[str, dict[int, str]] = {
    "cropland": legend.CROPLAND,
    "irrigation": legend.IRRIGATION,
    "croptype": legend.CROPTYPE,
}

#: Class name of the nodata code (255) in every product's tables.
NODATA_CLASS = "nodata"

#: Adcode of the national row: the area inside the union of a level's units.
TOTAL_ADCODE = "100000"

#: Classes left out of the one-row-per-unit table (they repeat another product's class).
REDUNDANT_CLASSES = {("irrigation", 0), ("croptype", 0)}


def class_name(product: str, code: int) -> str:
    """Name of ``code`` in ``product``'s legend (``'nodata'`` for 255)."""
    if code == legend.NODATA:
        return NODATA_CLASS
    return PRODUCTS[product][code]


def valid_codes(product: str) -> set[int]:
    """Codes a product may hold: its legend plus nodata."""
    return set(PRODUCTS[product]) | {legend.NODATA}


def area_column(product: str, code: int) -> str:
    """Stem of a class's column in the one-row-per-unit table (``'cropland'``, ``'croptype_nodata'``)."""
    name = class_name(product, code)
    return f"{product}_{name}" if code == legend.NODATA else name


def source_of(quantity: str) -> tuple[str, int]:
    """The (product, code) whose area a statistic's quantity counts.

    ``'cropland'`` is class 1 of the cropland product, ``'irrigated'`` and
    ``'rainfed'`` come from the irrigation product, crop names from the crop-type
    product. An unknown quantity is a ``KeyError`` that lists the known ones.
    """
    for product, classes in PRODUCTS.items():
        for code, name in classes.items():
            if name == quantity and (product, code) not in REDUNDANT_CLASSES:
                return product, code
    known = sorted(
        name
        for product, classes in PRODUCTS.items()
        for code, name in classes.items()
        if (product, code) not in REDUNDANT_CLASSES
    )
    raise KeyError(f"no mapped class matches the quantity {quantity!r}; known: {known}")
