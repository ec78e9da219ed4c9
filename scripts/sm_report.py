"""Rule sm_report: the soil-moisture evaluation table and a map of the calibrated product."""

import pandas as pd

from agrifactory.logs import setup_logging
from agrifactory.report.soil import soil_moisture_map
from agrifactory.report.tables import write_html_table

setup_logging(snakemake.log[0])
year = snakemake.wildcards.year
write_html_table(
    pd.read_csv(snakemake.input.evaluation),
    snakemake.output.table,
    title=f"Soil moisture at held-out stations ({year})",
    caption=(
        "Leave-stations-out cross-validation grouped by station: PCC, RMSE, unbiased RMSE "
        "and bias (m3/m3) per layer, for the reanalysis, the downscaled product, the "
        "calibrated product (pretrained then fine-tuned) and the same CNN trained on the "
        "target stations alone."
    ),
)
soil_moisture_map(
    snakemake.input.calibrated,
    snakemake.output.map,
    month=snakemake.params.month,
    title=f"Calibrated 1 km soil moisture, {year}",
)
