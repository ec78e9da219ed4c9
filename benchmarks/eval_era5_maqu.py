"""Real soil-moisture inputs from China: ERA5 swvl1/swvl2 and the ISMN MAQU stations.

Reads the two ERA5 analysis steps of ``../shared/data/era5_sample`` with the
reader's ERA5 options (land mask ``lsm``, packing-noise tolerance) over the
``soil_moisture.region_bbox`` of config/china.yaml and prints, per step and layer,
the land cells and their mean, min and max; then the ERA5 cell of the MAQU
stations. Reads the two MAQU stations of ``../shared/data/ismn_maqu`` and prints
per station the records, the date range, mean/min/max soil moisture of all
readings and of those flagged U only, and the share of each flag. With ``--figure``
also draws both stations' series to docs/figures/real_maqu.png.

Usage (from the repository root)::

    PYTHONPATH=src python benchmarks/eval_era5_maqu.py [--figure]
"""

from __future__ import annotations

import argparse
import platform
from pathlib import Path

import numpy as np
import pandas as pd

from agrifactory.io.reanalysis import read_reanalysis
from agrifactory.io.stations import read_stations

REPO = Path(__file__).resolve().parents[1]
DATA = REPO.parent / "shared" / "data"
ERA5 = ("ERA5_AN_20100101_0000.nc", "ERA5_AN_20100101_1200.nc")
#: soil_moisture.region_bbox of config/china.yaml
CHINA_BBOX = (73.0, 18.0, 135.5, 54.0)
FIGURE = REPO / "docs" / "figures" / "real_maqu.png"


def era5_table(folder: Path) -> pd.DataFrame:
    """Land cells and their mean/min/max per ERA5 layer and time step."""
    files = [folder / f for f in ERA5]
    rows = []
    for var in ("swvl1", "swvl2"):
        da = read_reanalysis(files, var, land_mask="lsm", negative_tolerance=0.02, bbox=CHINA_BBOX)
        for t in range(da.sizes["time"]):
            v = da.isel(time=t).values
            rows.append(
                {
                    "variable": var,
                    "time": str(da["time"].values[t])[:16],
                    "cells": v.size,
                    "land_cells": int(np.isfinite(v).sum()),
                    "mean": float(np.nanmean(v)),
                    "min": float(np.nanmin(v)),
                    "max": float(np.nanmax(v)),
                    "maqu_cell": float(da.isel(time=t).sel(lat=34.0, lon=102.25)),
                }
            )
    return pd.DataFrame(rows)


def maqu_table(records: pd.DataFrame) -> pd.DataFrame:
    """Per station: records, dates, value statistics, and the share of each flag."""
    rows = []
    for station, g in records.groupby("station"):
        u = g.loc[g["flag"] == "U", "value"]
        shares = g["flag"].value_counts(normalize=True)
        rows.append(
            {
                "station": station,
                "records": len(g),
                "first": g["time"].min().strftime("%Y-%m-%d %H:%M"),
                "last": g["time"].max().strftime("%Y-%m-%d %H:%M"),
                "mean": g["value"].mean(),
                "min": g["value"].min(),
                "max": g["value"].max(),
                "mean_U": u.mean(),
                "min_U": u.min(),
                "max_U": u.max(),
                "share_not_U": 1.0 - shares.get("U", 0.0),
                "share_D01_D03": shares.get("D01,D03", 0.0),
                "share_C03": shares.get("C03", 0.0),
            }
        )
    return pd.DataFrame(rows)


def draw(records: pd.DataFrame, path: Path) -> None:
    """Hourly series of both stations; readings flagged other than U in grey."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(2, 1, figsize=(8, 4.2), sharex=True, sharey=True)
    for ax, (station, g) in zip(axes, records.groupby("station"), strict=True):
        u = g["flag"] == "U"
        t = g["time"].dt.tz_localize(None)
        ax.plot(t[~u], g["value"][~u], ".", ms=1, color="0.7", label="flag C/D")
        ax.plot(t[u], g["value"][u], ".", ms=1, color="tab:blue", label="flag U")
        ax.set_title(f"{station} (0.05 m)", fontsize=9, loc="left")
        ax.set_ylabel("m3/m3", fontsize=8)
        ax.tick_params(labelsize=8)
    axes[0].legend(fontsize=7, markerscale=6, loc="upper right")
    fig.tight_layout()
    fig.savefig(path, dpi=90)
    plt.close(fig)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--figure", action="store_true", help=f"write {FIGURE}")
    args = parser.parse_args()
    pd.set_option("display.width", 160)
    pd.set_option("display.max_columns", 20)
    print(f"machine: {platform.node()} ({platform.processor() or platform.machine()})")
    print("\nERA5 over the China region bbox", CHINA_BBOX, "(lsm >= 0.5)")
    print(era5_table(DATA / "era5_sample").round(4).to_string(index=False))
    read = read_stations(DATA / "ismn_maqu")
    print(f"\nISMN MAQU: {len(read.files)} files, {len(read.problems)} skipped lines")
    print(maqu_table(read.records).round(4).T.to_string())
    if args.figure:
        draw(read.records, FIGURE)
        print(f"\nfigure: {FIGURE} ({FIGURE.stat().st_size / 1000:.0f} kB)")


if __name__ == "__main__":
    main()
