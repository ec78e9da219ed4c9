"""Rule sm_bias_train: pretrain, cross-validate (grouped by station) and fine-tune the CNN."""

from agrifactory.logs import setup_logging
from agrifactory.soil_moisture import settings
from agrifactory.soil_moisture.pipeline import set_torch_threads, train_bias_correction

setup_logging(snakemake.log[0])
set_torch_threads(snakemake.threads)
p = snakemake.params
out = snakemake.output
train_bias_correction(
    snakemake.input.model,
    settings.reanalysis_inputs(snakemake.input),
    settings.driver_inputs(snakemake.input),
    settings.station_inputs(snakemake.input, "stations"),
    int(snakemake.wildcards.year),
    out.cnn,
    out.evaluation,
    out.series,
    source_stations=settings.station_inputs(snakemake.input, "source_stations"),
    pretrain_on=p.bias["pretrain_on"],
    units=p.units,
    bbox=p.region,
    station_depths=settings.station_depths({"stations": p.stations}),
    keep_flags=p.stations["keep_flags"],
    min_readings=p.stations["min_readings"],
    width=p.bias["width"],
    folds=p.bias["folds"],
    oof_folds=p.bias["oof_folds"],
    pretrain=settings.train_settings(p.bias["pretrain"]),
    finetune=settings.train_settings(p.bias["finetune"]),
    members=p.bias["members"],
    seed=p.seed,
    engine=p.engine,
)
