"""Rule qa_summaries: run-level QA tables of the fusion and the HANTS smoothing."""

from agrifactory.logs import setup_logging
from agrifactory.report import summaries
from agrifactory.report.tables import write_html_table

setup_logging(snakemake.log[0])
keys = snakemake.params.tile_years
inp, out = snakemake.input, snakemake.output
fusion = summaries.fusion_summary(dict(zip(keys, inp.fusion_qa, strict=True)))
validation = summaries.fusion_validation_summary(
    dict(zip(keys, inp.fusion_validation, strict=True))
)
hants = summaries.hants_summary(dict(zip(keys, inp.hants_qa, strict=True)))
write_html_table(
    fusion,
    out.fusion,
    title="Fusion: base pairs and prediction paths per tile-year",
    caption="Targets fused from two pairs, one pair or none; pixel shares by ESTARFM path (mean over the 46 dates).",
)
write_html_table(
    validation,
    out.validation,
    title="Fusion: held-out validation by pair selector",
    caption="Clear scenes held out and predicted from pairs chosen without them; selectors compared on the same pixels.",
)
write_html_table(
    hants,
    out.hants,
    title="HANTS smoothing per tile-year",
    caption="Fit RMSE against the kept samples, rejected samples per series, and the share of each fit path.",
)
