"""Regenerate docs/figures/hants_probav.png: raw vs HANTS-smoothed PROBA-V NDVI.

Run from the repository root:
    PYTHONPATH=src python docs/figures/hants_probav.py ../shared/data/hants_probav
"""

import datetime as dt
import sys
from pathlib import Path

import numpy as np

from agrifactory.timeseries.hants import HantsParams, hants_fit
from agrifactory.timeseries.plots import plot_series_fits
from agrifactory.timeseries.sample_data import read_probav_folder
from agrifactory.timeseries.savgol import savgol_smooth
from agrifactory.timeseries.timeaxis import days_since

folder = Path(sys.argv[1] if len(sys.argv) > 1 else "../shared/data/hants_probav")
series = read_probav_folder(folder)
origin = series.dates[0]
t = days_since(series.dates, origin)
result = hants_fit(series.ndvi, t, params=HantsParams(base_period=365, n_freq=3, reject="low"))
t_daily = np.arange(0.0, t[-1] + 1)
daily_dates = [origin + dt.timedelta(days=float(d)) for d in t_daily]
hants_daily = result.reconstruct(t_daily)
sg_daily = savgol_smooth(series.ndvi, t, t_out=t_daily, step=5, window_length=7, polyorder=2).values

# Four pixels: the largest and smallest seasonal amplitude, the most rejected samples, the median RMSE.
amp = result.amplitude[0].ravel()
rmse = result.rmse.ravel()
picks = [
    int(np.argmax(amp)),
    int(np.argmin(amp)),
    int(np.argmax(result.n_outliers.ravel())),
    int(np.argsort(rmse)[rmse.size // 2]),
]
flat = series.ndvi.reshape(t.size, -1)
rows, cols = series.ndvi.shape[1:]
titles = [
    f"pixel row {p // cols}, col {p % cols}: amplitude {amp[p]:.2f}, RMSE {rmse[p]:.3f}, "
    f"{int(result.n_outliers.ravel()[p])} of {int(result.n_valid.ravel()[p])} samples rejected"
    for p in picks
]


plot_series_fits(
    Path(__file__).with_suffix(".png"),
    series.dates,
    flat[:, picks],
    result.outliers.reshape(t.size, -1)[:, picks],
    daily_dates,
    {
        "HANTS (3 freq., 365 d, reject low)": hants_daily.reshape(t_daily.size, -1)[:, picks],
        "Savitzky-Golay (7 x 5 d, order 2)": sg_daily.reshape(t_daily.size, -1)[:, picks],
    },
    titles,
)
