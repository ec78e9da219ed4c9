"""Rule accuracy_table: the accuracy report of one product as an HTML page for the report."""

import pandas as pd

from agrifactory.logs import setup_logging
from agrifactory.report.tables import write_html_table

setup_logging(snakemake.log[0])
product = snakemake.wildcards.product
table = pd.read_csv(snakemake.input[0])
write_html_table(
    table,
    snakemake.output[0],
    title=f"Accuracy of the {product} map ({snakemake.wildcards.year})",
    caption=(
        "'validation': the held-out validation samples (confusion-matrix metrics). "
        "'stratified': the stratified random sample of the map with the estimators of "
        "Olofsson et al. (2014): accuracies and class areas with standard errors and 95% CIs."
    ),
)
