"""Which inputs should the adaptation's networks read? Cases of a finished run, scored
with other ``adapt.features`` and ``adapt.training`` settings than the run's.

Reads a finished demo run (training tables, target pools, cropland models) and runs
the methods of each case as rule ``adapt`` does (same samples, pools and seeds; the
target's labels score and never train), once per feature set:

* ``hants``: the HANTS-smoothed 8-day NDVI (one channel, 46 dates; the default);
* ``monthly``: the monthly medians of every band and index of the composites (12
  channels x 12 months), with the time settings in months (``--monthly-set``).

Usage (from the repository root, after ``make demo``)::

    PYTHONPATH=src python benchmarks/eval_adapt_features.py results \
        --cases west_2021_to_east_2021 east_2021_to_west_2021 --methods augment ghca

Choose on the 2021 cross-region cases: the 2022 cases are the held-out check.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import pandas as pd
import yaml

from agrifactory.adapt.case import case_series
from agrifactory.adapt.experiment import run_case
from agrifactory.adapt.rules import POOL, AdaptStageSettings, domain_parts
from agrifactory.classify.rules import TRAIN_OUTPUTS, TRAINING_SET_OUTPUTS
from agrifactory.timeseries.composites import MONTHLY_BANDS

FEATURES = {
    "hants": {"features": ["hants_doy*"]},
    "monthly": {"features": [f"monthly_{b}_*" for b in MONTHLY_BANDS]},
}


def settings_for(config: dict, features: str, extra: dict) -> AdaptStageSettings:
    """The run's adapt settings with another feature set and training overrides."""
    values = dict(config.get("adapt", {}))
    values.update(FEATURES[features])
    values["training"] = {**values.get("training", {}), **extra}
    return AdaptStageSettings.build(values, "adapt")


def score_case(results: Path, case_name: str, settings: AdaptStageSettings, methods: list[str],
               seeds: list[int]) -> pd.DataFrame:  # fmt: skip
    """OA of every method and seed on one case."""
    case = settings.case(case_name)
    source_region, source_year = domain_parts(case.source, "source")
    _, target_year = domain_parts(case.target, "target")
    table = TRAINING_SET_OUTPUTS["table"]
    model = f"models/cropland/{source_region}/{source_year}/{TRAIN_OUTPUTS['model']}"
    _, (xs, ys), xt, (xe, ye) = case_series(
        case, settings,
        source_table=results / f"training/{source_year}/{table}",
        target_table=results / f"training/{target_year}/{table}",
        pool=results / f"adapt/pool/{target_year}/{POOL}",
        cropland_model=results / model,
    )  # fmt: skip
    classes = sorted(set(ys.tolist()) | set(ye.tolist()))
    table = run_case(xs, ys, xt, xe, ye, classes=classes, methods=methods, seeds=seeds,
                     settings=settings.training)  # fmt: skip
    table.insert(0, "case", case_name)
    return table


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("results", type=Path)
    parser.add_argument("--config", type=Path, default=Path("config/config.yaml"))
    parser.add_argument("--cases", nargs="+", required=True)
    parser.add_argument("--methods", nargs="+", default=["lightgbm", "augment", "ghca"])
    parser.add_argument("--features", nargs="+", default=["hants", "monthly"])
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--seed", type=int, default=2021)
    parser.add_argument("--monthly-set", nargs="*", default=[],
                        help="training overrides for the monthly inputs, key=value (YAML)")  # fmt: skip
    args = parser.parse_args()
    config = yaml.safe_load(args.config.read_text())
    monthly = {k: yaml.safe_load(v) for k, v in (s.split("=", 1) for s in args.monthly_set)}
    seeds = [args.seed + i for i in range(args.seeds)]
    rows = []
    for features in args.features:
        settings = settings_for(config, features, monthly if features == "monthly" else {})
        for case in args.cases:
            start = time.perf_counter()
            table = score_case(args.results, case, settings, args.methods, seeds)
            table.insert(1, "features", features)
            rows.append(table)
            print(f"{case} {features}: {time.perf_counter() - start:.0f} s", flush=True)
    scores = pd.concat(rows, ignore_index=True)
    summary = scores.groupby(["case", "features", "method"])["oa"].agg(["mean", "std"])
    with pd.option_context("display.width", 200, "display.max_rows", 500):
        print(summary.round(3).to_string())
    print(f"mean over cases:\n{scores.groupby(['features', 'method'])['oa'].mean().round(3)}")


if __name__ == "__main__":
    main()
