"""Rule sm_bias_train: pretrain, cross-validate (grouped by station) and fine-tune the CNN."""

from agrifactory.soil_moisture import rules

rules.bias_train(snakemake)
