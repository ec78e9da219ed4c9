"""Rule qa_summaries: run-level QA tables of the fusion and the HANTS smoothing."""

from agrifactory.report import rules

rules.qa_summaries(snakemake)
