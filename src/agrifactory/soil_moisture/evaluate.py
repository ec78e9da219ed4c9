"""Evaluation at stations: metrics and station-grouped folds.

Metrics compare an estimate with station observations over the pairs where
both exist: Pearson correlation (PCC), root-mean-square error (RMSE), bias
(mean of estimate minus observation) and unbiased RMSE
(``sqrt(RMSE^2 - bias^2)``, the RMSE after removing the mean difference).
"Pooled" metrics take every station-day of the held-out stations together;
"per station" ones are computed per station and summarised by their median.

Cross-validation is leave-stations-out: :func:`station_folds` puts every
station in exactly one test fold, so no station is ever both trained on and
tested in the same fold.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd


def metrics(estimate: np.ndarray, observed: np.ndarray) -> dict[str, float]:
    """PCC, RMSE, unbiased RMSE, bias and count over finite pairs."""
    e = np.asarray(estimate, np.float64).ravel()
    o = np.asarray(observed, np.float64).ravel()
    ok = np.isfinite(e) & np.isfinite(o)
    n = int(ok.sum())
    if n < 2:
        return {"pcc": np.nan, "rmse": np.nan, "ubrmse": np.nan, "bias": np.nan, "n": n}
    e, o = e[ok], o[ok]
    d = e - o
    bias = float(d.mean())
    rmse = float(np.sqrt(np.mean(d**2)))
    ub = float(np.sqrt(max(rmse**2 - bias**2, 0.0)))
    pcc = float(np.corrcoef(e, o)[0, 1]) if e.std() > 0 and o.std() > 0 else np.nan
    return {"pcc": pcc, "rmse": rmse, "ubrmse": ub, "bias": bias, "n": n}


def station_folds(stations: Sequence[str], n_folds: int, seed: int = 0) -> list[np.ndarray]:
    """Split station ids into ``n_folds`` disjoint test sets covering all stations.

    Stations are shuffled with ``seed`` and dealt round-robin, so fold sizes
    differ by at most one.
    """
    ids = np.array(sorted(set(stations)), dtype=object)
    if not 2 <= n_folds <= len(ids):
        raise ValueError(f"need 2 <= n_folds <= {len(ids)} stations, got {n_folds}")
    order = np.random.default_rng(seed).permutation(len(ids))
    return [np.sort(ids[order[k::n_folds]]) for k in range(n_folds)]


def cv_splits(
    stations: Sequence[str], n_folds: int, seed: int = 0
) -> list[tuple[np.ndarray, np.ndarray]]:
    """(train, test) index arrays into ``stations`` for each fold of :func:`station_folds`.

    An id that occurs several times in ``stations`` always falls on one side.
    """
    ids = np.asarray(list(stations), dtype=object)
    out = []
    for test_ids in station_folds(ids, n_folds, seed):
        test = np.isin(ids, test_ids)
        out.append((np.flatnonzero(~test), np.flatnonzero(test)))
    return out


def per_station_metrics(
    estimate: np.ndarray, observed: np.ndarray, stations: Sequence[str]
) -> pd.DataFrame:
    """Metrics of each station's time series; ``estimate``/``observed`` are ``(T, S)``."""
    rows = []
    for k, st in enumerate(stations):
        rows.append({"station": st, **metrics(estimate[:, k], observed[:, k])})
    return pd.DataFrame(rows)


def summarise(
    estimate: np.ndarray, observed: np.ndarray, stations: Sequence[str]
) -> dict[str, float]:
    """Pooled metrics plus the median per-station PCC and ubRMSE."""
    pooled = metrics(estimate, observed)
    per = per_station_metrics(estimate, observed, stations)
    pooled["station_median_pcc"] = float(np.nanmedian(per["pcc"])) if len(per) else np.nan
    pooled["station_median_ubrmse"] = float(np.nanmedian(per["ubrmse"])) if len(per) else np.nan
    return pooled
