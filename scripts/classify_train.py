"""Rules train_cropland, train_irrigation, train_croptype: one model per region and year."""

from agrifactory.classify.fanin import train_product, write_reports
from agrifactory.logs import setup_logging

setup_logging(snakemake.log[0])
p = snakemake.params
out = snakemake.output
common = dict(
    product=p.product,
    region=snakemake.wildcards.region,
    seed=p.seed,
    min_count=p.min_count,
    threads=snakemake.threads,
)
models = [(p.model, out.model, out.get("separability"))]
if "baseline" in out.keys():
    models.append((p.model["baseline"], out.baseline, None))
reports = []
for cfg, model_dir, separability in models:
    _, report = train_product(
        snakemake.input.table,
        kind=cfg["kind"],
        params=cfg["params"],
        features=cfg["features"],
        reselect_below=cfg.get("reselect_below"),
        out_model=model_dir,
        out_separability=separability,
        **common,
    )
    reports.append(report)
write_reports(reports, out.validation)
