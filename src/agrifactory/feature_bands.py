"""Band names of the feature stack: the time-series stage writes them, the classifiers
select them (stage modules may not import one another, so the names live here)."""

from __future__ import annotations

#: The phenology metrics of the feature stack, in band order (docs/timeseries.md).
PHENOLOGY_METRICS: tuple[str, ...] = (
    "pheno_sos",
    "pheno_pos",
    "pheno_eos",
    "pheno_peak",
    "pheno_integral",
    "pheno_greenup",
    "pheno_senescence",
)
#: The band that flags a pixel's phenology as reliable or not; follows the metrics.
PHENOLOGY_FLAG = "pheno_flag"
