"""Rule demo_statistics: the demo's official cropland statistics per province and county."""

from agrifactory.synthetic import rules

rules.demo_statistics(snakemake)
