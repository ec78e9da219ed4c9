"""MOD13A1 QA, HANTS and phenology at the 10 flux sites of the phenofit example data.

For every site: the share of good / marginal / snow / cloudy composites (SummaryQA,
2000-02 .. 2018-06, 422 composites), the DetailedQA fields that go with them, and,
for each complete year 2001-2017, HANTS (365-day period, 3 frequencies, reject low;
composites of the year +- 90 days, SummaryQA 0 and 1 kept, 2 at the winter baseline,
3 masked) reconstructed daily, with start / peak / end of season from
``agrifactory.timeseries.features.phenology`` (20 % of the amplitude).

Prints the per-site table and the site-year table; writes one PNG per site,
``docs/figures/real_phenofit_<site>.png`` (2013-2017: NDVI coloured by SummaryQA,
the yearly HANTS curves, SOS / EOS marks).

    PYTHONPATH=src python benchmarks/eval_phenofit_sites.py [../shared/data/phenofit_mod13a1]
"""

from __future__ import annotations

import sys
from pathlib import Path

import matplotlib
import numpy as np
import pandas as pd

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

from agrifactory.io.modis_qa import decode_mod13_detailed_qa  # noqa: E402
from agrifactory.timeseries.sample_data import read_phenofit_sites  # noqa: E402
from agrifactory.timeseries.site_phenology import (  # noqa: E402
    fit_season,
    reliability_shares,
    screened_ndvi,
)

REPO = Path(__file__).resolve().parents[1]
YEARS = range(2001, 2018)
PLOT_YEARS = range(2013, 2018)
QA_COLOURS = {0: ("good", "tab:green"), 1: ("marginal", "tab:olive"),
              2: ("snow/ice", "tab:blue"), 3: ("cloudy", "tab:red")}  # fmt: skip


def site_years(site: pd.DataFrame) -> tuple[pd.DataFrame, dict]:
    """Phenology of each year of one site (table) and the fits by year."""
    ndvi = screened_ndvi(site["ndvi_dn"], site["summary_qa"])
    fits = {y: fit_season(site["obs"], ndvi, y) for y in YEARS}
    rows = [
        {
            "year": y,
            "n_valid": int(f.fit.n_valid[0]),
            "n_outliers": int(f.fit.n_outliers[0]),
            "sos": f.metrics["pheno_sos"],
            "peak": f.metrics["pheno_pos"],
            "eos": f.metrics["pheno_eos"],
            "peak_ndvi": f.metrics["pheno_peak"],
            "flag": int(f.metrics["pheno_flag"]),
        }
        for y, f in fits.items()
    ]
    return pd.DataFrame(rows), fits


def detailed_summary(site: pd.DataFrame) -> dict[str, float]:
    """Shares of composites with DetailedQA adjacent cloud, mixed clouds, snow, shadow."""
    qa = site["detailed_qa"].dropna().to_numpy(dtype=np.int64)
    f = decode_mod13_detailed_qa(qa)
    out = {f"dq_{k}": float((f[k] == 1).mean()) for k in ("adjacent_cloud", "mixed_clouds")}
    out["dq_snow"] = float((f["snow_ice"] == 1).mean())
    out["dq_land"] = float((f["land_water"] == 1).mean())
    return out


def plot_site(name: str, site: pd.DataFrame, fits: dict, igbp: str, out: Path) -> None:
    """Raw NDVI by SummaryQA, the yearly HANTS curves and SOS / EOS of PLOT_YEARS."""
    fig, ax = plt.subplots(figsize=(8, 2.8), dpi=90)
    lo, hi = pd.Timestamp(PLOT_YEARS[0], 1, 1), pd.Timestamp(PLOT_YEARS[-1], 12, 31)
    part = site[(site["obs"] >= lo) & (site["obs"] <= hi)]
    for code, (label, colour) in QA_COLOURS.items():
        s = part[part["summary_qa"] == code]
        ax.scatter(s["obs"], s["ndvi_dn"] * 1e-4, s=9, c=colour, label=label, zorder=3)
    for y in PLOT_YEARS:
        f = fits[y]
        days = pd.Timestamp(y, 1, 1) + pd.to_timedelta(f.doy - 1, unit="D")
        ax.plot(days, f.curve, c="k", lw=1, label="HANTS" if y == PLOT_YEARS[0] else None)
        for key, mark in (("pheno_sos", "^"), ("pheno_eos", "v")):
            day = f.metrics[key]
            x = pd.Timestamp(y, 1, 1) + pd.Timedelta(days=day - 1)
            ax.plot(x, np.interp(day, f.doy, f.curve), mark, c="purple", ms=6, zorder=4)
    ax.set_title(f"{name} ({igbp}), MOD13A1 NDVI; ▲ SOS ▼ EOS", fontsize=9)
    ax.set_ylabel("NDVI", fontsize=8)
    ax.tick_params(labelsize=7)
    ax.set_ylim(-0.1, 1.0)
    ax.legend(fontsize=6, ncol=5, loc="lower center", frameon=False)
    fig.tight_layout()
    fig.savefig(out)
    plt.close(fig)


def main() -> None:
    folder = (
        Path(sys.argv[1]) if len(sys.argv) > 1 else REPO.parent / "shared/data/phenofit_mod13a1"
    )
    records, sites = read_phenofit_sites(folder)
    igbp = dict(zip(sites["site"], sites["IGBPname"], strict=True))
    shares = reliability_shares(records)
    summary, per_year = [], []
    for name, site in records.groupby("site"):
        table, fits = site_years(site)
        per_year.append(table.assign(site=name))
        ok = table[table["flag"] == 0]
        summary.append(
            {
                "site": name,
                "igbp": igbp[name],
                **shares.loc[name].round(3).to_dict(),
                **{k: round(v, 3) for k, v in detailed_summary(site).items()},
                "years_ok": len(ok),
                "sos_med": ok["sos"].median(),
                "peak_med": ok["peak"].median(),
                "eos_med": ok["eos"].median(),
                "peak_iqr": ok["peak"].quantile(0.75) - ok["peak"].quantile(0.25),
            }
        )
        out = REPO / "docs" / "figures" / f"real_phenofit_{name}.png"
        plot_site(name, site, fits, igbp[name], out)
    pd.set_option("display.width", 200)
    print(pd.DataFrame(summary).to_string(index=False, float_format=lambda v: f"{v:.3g}"))
    print()
    years = pd.concat(per_year)[["site", "year", "n_valid", "n_outliers", "sos", "peak", "eos",
                                 "peak_ndvi", "flag"]]  # fmt: skip
    print(years.round(2).to_string(index=False))


if __name__ == "__main__":
    main()
