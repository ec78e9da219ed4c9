"""Rule aggregate: sum the tiles' partial areas; compare with the official statistics."""

from agrifactory.aggregate.run import aggregate_year
from agrifactory.logs import setup_logging

setup_logging(snakemake.log[0])
out = snakemake.output
p = snakemake.params
outputs = {"run": {"conservation": out.conservation}}
for level in p.levels:
    keys = ["areas"] + (
        ["comparison", "comparison_html", "summary", "bars", "scatter"]
        if level in p.compared
        else []
    )
    outputs[level] = {key: out[f"{level}_{key}"] for key in keys}
aggregate_year(
    snakemake.input.partials,
    {level: snakemake.input[level] for level in p.levels},
    {level: snakemake.input[f"statistics_{level}"] for level in p.compared},
    outputs,
    p.aggregate,
    accuracy=snakemake.input.get("accuracy", []),
)
