"""Run-level QA summaries of the per-tile stages, for the report.

Each function reads the per-tile QA outputs of one stage and returns a tidy table
(one row per tile, plus an ``all`` row where an average makes sense).
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import numpy as np
import pandas as pd

from agrifactory.io.raster import read_raster


def fusion_summary(qa_tables: Mapping[str, str | Path]) -> pd.DataFrame:
    """Per tile: targets fused from two pairs, one pair or none, and pixel shares by QA path."""
    rows = []
    for tile, path in qa_tables.items():
        qa = pd.read_csv(path, keep_default_na=False)
        rows.append(
            {
                "tile": tile,
                "targets": len(qa),
                "two_pairs": int(((qa["status"] == "ok") & ~qa["single_pair"].astype(bool)).sum()),
                "one_pair": int(qa["single_pair"].astype(bool).sum()),
                "no_pair": int((qa["pair1_date"] == "").sum()),
                "predicted_pct": 100 * float(qa["predicted_fraction"].mean()),
                "weighted_pct": 100 * float(qa["weighted_fraction"].mean()),
                "temporal_fallback_pct": 100 * float(qa["temporal_fallback_fraction"].mean()),
                "out_of_range_fallback_pct": 100
                * float(qa["out_of_range_fallback_fraction"].mean()),
                **{
                    f"{name}_pct": 100 * float(qa[f"{name}_fraction"].mean())
                    for name in ("single_pair_fallback", "temporal_fill", "regression_fill")
                },
                "unfilled_pct": 100 * float(qa["unfilled_fraction"].mean()),
            }
        )
    return pd.DataFrame(rows)


def fusion_validation_summary(validation_tables: Mapping[str, str | Path]) -> pd.DataFrame:
    """Held-out validation per pair selector: mean r, RMSE, MAD, bias and coverage over tiles and dates.

    Rows compare selectors on the pixels both predicted (see
    :func:`agrifactory.fusion.tile.validate_held_out`); ``wins`` counts the held-out
    tile-dates where a selector's RMSE is strictly the lowest, ``ties`` those where
    it shares the lowest (e.g. both selectors chose the same pairs).
    """
    tables = []
    for tile, path in validation_tables.items():
        t = pd.read_csv(path)
        t["tile"] = tile
        tables.append(t)
    if not tables:
        return pd.DataFrame()
    v = pd.concat(tables, ignore_index=True).dropna(subset=["rmse"])
    if v.empty:
        return pd.DataFrame()
    lowest = v.groupby(["tile", "heldout_date"])["rmse"].transform("min")
    at_lowest = v[np.isclose(v["rmse"], lowest, rtol=0, atol=1e-9)]
    shared = at_lowest.groupby(["tile", "heldout_date"])["method"].transform("size") > 1
    wins = at_lowest.loc[~shared, "method"].value_counts()
    ties = at_lowest.loc[shared, "method"].value_counts()
    out = (
        v.groupby("method")
        .agg(
            cases=("rmse", "size"),
            r=("r", "mean"),
            rmse=("rmse", "mean"),
            mad=("mad", "mean"),
            bias=("bias", "mean"),
            coverage_pct=("coverage", lambda c: 100 * c.mean()),
        )
        .reset_index()
    )
    out["wins"] = out["method"].map(wins).fillna(0).astype(int)
    out["ties"] = out["method"].map(ties).fillna(0).astype(int)
    return out


def fusion_flag_validation_summary(tables: Mapping[str, str | Path]) -> pd.DataFrame:
    """Held-out validation of the product per flag class, over tiles and dates.

    One row per flag with any pixel: the tile-dates where it occurs (``cases``), its
    pixels ``n``, mean coverage (share of the held-out scenes' valid pixels), the RMSE
    pooled over all its pixels and the nearest-clear baseline's on the same pixels,
    and the mean of the per tile-date RMSEs (as the selector table gives them).
    """
    frames = [pd.read_csv(path, keep_default_na=False, na_values=[""]) for path in tables.values()]
    if not frames:
        return pd.DataFrame()
    return pool_flag_validation(pd.concat(frames, ignore_index=True))


def pool_flag_validation(v: pd.DataFrame) -> pd.DataFrame:
    """:func:`fusion_flag_validation_summary` of the tiles' ``validation_flags.csv``
    rows already read into one table ``v`` (empty where no flag has a pixel)."""
    coverage = v.groupby(["flag", "flag_name"])["coverage"].mean()
    v = v[v["n"] > 0].assign(
        se=lambda t: t["n"] * t["rmse"] ** 2, base_se=lambda t: t["n"] * t["baseline_rmse"] ** 2
    )
    if v.empty:
        return pd.DataFrame()
    out = v.groupby(["flag", "flag_name"]).agg(
        cases=("n", "size"), n=("n", "sum"), se=("se", "sum"), base_se=("base_se", "sum"),
        mean_rmse=("rmse", "mean"),
    )  # fmt: skip
    out["coverage_pct"] = 100 * coverage.reindex(out.index)
    out["rmse"] = np.sqrt(out["se"] / out["n"])
    out["baseline_rmse"] = np.sqrt(out["base_se"] / out["n"])
    out["beats_baseline"] = out["rmse"] < out["baseline_rmse"]
    columns = ["cases", "n", "coverage_pct", "rmse", "baseline_rmse", "beats_baseline",
               "mean_rmse"]  # fmt: skip
    return out[columns].reset_index()


def hants_summary(qa_rasters: Mapping[str, str | Path]) -> pd.DataFrame:
    """Per tile: HANTS fit RMSE (median, 95th percentile), rejected samples, fallback shares."""
    rows = []
    for tile, path in qa_rasters.items():
        data, meta = read_raster(path)
        bands = dict(zip(meta["descriptions"], data, strict=True))
        rmse, flag = bands["rmse"], bands["flag"]
        rows.append(
            {
                "tile": tile,
                "rmse_median": float(np.nanmedian(rmse)),
                "rmse_p95": float(np.nanpercentile(rmse, 95)),
                "rejected_per_series": float(np.nanmean(bands["n_outliers"])),
                "valid_per_series": float(np.nanmean(bands["n_valid"])),
                "full_fit_pct": 100 * float(np.mean(flag == 0)),
                "fewer_frequencies_pct": 100 * float(np.mean(flag == 1)),
                "no_valid_sample_pct": 100 * float(np.mean(flag == 2)),
            }
        )
    return pd.DataFrame(rows)
