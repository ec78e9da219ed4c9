"""Rules train_cropland, train_irrigation, train_croptype: one model per region and year."""

from agrifactory.classify import rules

rules.train(snakemake)
