"""Rule model_comparison: the crop-type models side by side on the validation samples."""

from agrifactory.report import rules

rules.model_comparison(snakemake)
