"""Rule change: a year's class transitions per province and county, every tile's flags, the page."""

from agrifactory.change import rules

rules.change(snakemake)
