"""Colours of the class legends (one fixed colour per class, so every map reads alike)."""

from __future__ import annotations

from agrifactory import legend

#: RGB hex colour per class code, by product.
PALETTES: dict[str, dict[int, str]] = {
    "landcover": {
        1: "#e3b505",
        2: "#a6d96a",
        3: "#1b7837",
        4: "#2166ac",
        5: "#b2182b",
    },
    "cropland": {0: "#d9d9d9", 1: "#e3b505"},
    "irrigation": {0: "#d9d9d9", 1: "#1f78b4", 2: "#e6a117"},
    "croptype": {
        0: "#d9d9d9",
        1: "#8c510a",
        2: "#c51b7d",
        3: "#fdd835",
        4: "#1a9850",
        5: "#bdb76b",
        6: "#f46d43",
        7: "#4575b4",
    },
}

#: Fallback colours for a legend without a palette.
_CYCLE = [
    "#1f77b4",
    "#ff7f0e",
    "#2ca02c",
    "#d62728",
    "#9467bd",
    "#8c564b",
    "#e377c2",
    "#7f7f7f",
    "#bcbd22",
    "#17becf",
]


def palette(product: str, classes: dict[int, str] | None = None) -> dict[int, str]:
    """Colours of a product's classes; unknown products get a fixed cycle."""
    if product in PALETTES:
        return dict(PALETTES[product])
    codes = sorted(classes if classes is not None else legend.LEGENDS.get(product, {}))
    return {c: _CYCLE[i % len(_CYCLE)] for i, c in enumerate(codes)}


def rgba(hex_colour: str, alpha: int = 255) -> tuple[int, int, int, int]:
    """``'#rrggbb'`` -> ``(r, g, b, alpha)`` in 0..255."""
    h = hex_colour.lstrip("#")
    return (int(h[0:2], 16), int(h[2:4], 16), int(h[4:6], 16), alpha)
