"""Rule leave_one_out: leave-one-out accuracy on a small labelled sample."""

from agrifactory.classify import rules

rules.leave_one_out(snakemake)
