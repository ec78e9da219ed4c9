"""Class legends of the factory's uint8 products (shared by the demo, classifiers and reports).

Every class raster uses 255 as nodata (outside data). Crop type and irrigation are
defined only inside cropland; elsewhere they hold 0 ("not cropland").
"""

from __future__ import annotations

NODATA = 255

#: Land cover of the demo world's truth.
LANDCOVER = {1: "cropland", 2: "grassland", 3: "forest", 4: "water", 5: "built_up"}

#: The cropland product.
CROPLAND = {0: "other", 1: "cropland"}

#: The irrigation product (0 outside cropland).
IRRIGATION = {0: "not_cropland", 1: "irrigated", 2: "rainfed"}

#: The crop-type product (0 outside cropland).
CROPTYPE = {
    0: "not_cropland",
    1: "potato",
    2: "sugar_beet",
    3: "sunflower",
    4: "vegetables",
    5: "oat",
    6: "wheat",
    7: "flax",
}

#: Which crops are irrigated in the Chahannur basin (the demo's agronomy).
IRRIGATED_CROPS = ("potato", "sugar_beet", "sunflower", "vegetables")
RAINFED_CROPS = ("oat", "wheat", "flax")

LEGENDS = {
    "landcover": LANDCOVER,
    "cropland": CROPLAND,
    "irrigation": IRRIGATION,
    "croptype": CROPTYPE,
}


def code_of(legend: dict[int, str], name: str) -> int:
    """The code of a class name in a legend; unknown names raise ``KeyError`` listing the legend."""
    for code, label in legend.items():
        if label == name:
            return code
    raise KeyError(f"unknown class {name!r}; known classes: {sorted(legend.values())}")
