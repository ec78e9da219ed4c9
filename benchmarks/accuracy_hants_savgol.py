"""Accuracy of HANTS against Savitzky-Golay on held-out clear Sentinel-2 samples.

eo-learn patch (68 dates, 2015-07 .. 2017-12, cloud mask CLM). For each seed, 20 % of
the clear samples are held out (masked for both smoothers) and scored. Two inputs:
  A "mask given":  the smoothers also get the cloud mask (clouds masked / gap-filled);
  B "mask hidden": the smoothers get every other sample, clouds included.
Prints RMSE per smoother and stratum, and the ratio HANTS / best Savitzky-Golay.

    PYTHONPATH=src python benchmarks/accuracy_hants_savgol.py [../shared/data/eolearn_patch]
"""

import sys
from pathlib import Path

import numpy as np

from agrifactory.timeseries.evaluate import holdout_mask, rmse_on
from agrifactory.timeseries.hants import HantsParams, hants_fit
from agrifactory.timeseries.sample_data import read_eolearn_patch
from agrifactory.timeseries.savgol import savgol_smooth
from agrifactory.timeseries.timeaxis import days_since

folder = Path(sys.argv[1] if len(sys.argv) > 1 else "../shared/data/eolearn_patch")
s = read_eolearn_patch(folder)
t = days_since(s.dates, s.dates[0])
months = np.array([d.month for d in s.dates])[:, None, None]
strata = {
    "all": True,
    "Apr-Oct": (months >= 4) & (months <= 10),
    "Nov-Mar": (months < 4) | (months > 10),
}
smoothers = {
    "HANTS 365 d, 3 freq., reject low": lambda y, m: hants_fit(y, t, mask=m).reconstruct(t),
    "HANTS 365 d, 3 freq., no rejection": lambda y, m: hants_fit(
        y, t, mask=m, params=HantsParams(reject="none")
    ).reconstruct(t),
    **{
        f"Savitzky-Golay window {w}, order 2": (
            lambda y, m, w=w: savgol_smooth(y, t, mask=m, window_length=w, polyorder=2).values
        )
        for w in (5, 7, 9, 11)
    },
}
seeds = (42, 1, 2)
for scenario in ("A mask given", "B mask hidden"):
    table = {name: {k: [] for k in strata} for name in smoothers}
    for seed in seeds:
        test = holdout_mask(~s.cloud, 0.2, seed)
        masked = test | s.cloud if scenario.startswith("A") else test
        for name, smooth in smoothers.items():
            pred = smooth(s.ndvi, masked)
            for k, sel in strata.items():
                table[name][k].append(rmse_on(pred, s.ndvi, test & sel))
    print(f"\n{scenario}: RMSE on held-out clear samples (mean of seeds {seeds})")
    print(f"{'smoother':40s}" + "".join(f"{k:>10s}" for k in strata))
    for name, row in table.items():
        print(f"{name:40s}" + "".join(f"{np.mean(v):10.4f}" for v in row.values()))
    best_sg = min(np.mean(table[n]["all"]) for n in table if n.startswith("Savitzky"))
    hants = np.mean(table["HANTS 365 d, 3 freq., reject low"]["all"])
    print(f"ratio HANTS (reject low) / best Savitzky-Golay, all samples: {hants / best_sg:.2f}")
