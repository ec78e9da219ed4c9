"""Rule demo_products: WorldCover-, CLCD- and GFSAD-like cropland products of the year."""

from agrifactory.synthetic import rules

rules.demo_products(snakemake)
