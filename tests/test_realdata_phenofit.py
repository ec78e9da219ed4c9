"""Real MOD13A1 at 10 flux sites (phenofit example data): QA decoding, HANTS, phenology.

Values measured with benchmarks/eval_phenofit_sites.py (docs/real-data.md).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from agrifactory.io.modis_qa import decode_mod13_detailed_qa
from agrifactory.timeseries.sample_data import read_phenofit_sites
from agrifactory.timeseries.site_phenology import fit_season, reliability_shares, screened_ndvi

pytestmark = pytest.mark.realdata


@pytest.fixture(scope="module")
def records(shared_data):
    return read_phenofit_sites(shared_data / "phenofit_mod13a1")[0]


def test_records_are_read(records):
    assert len(records) == 4220 and (records.groupby("site").size() == 422).all()
    # One composite (2018-05-09) is missing at every site: NaN NDVI, SummaryQA -1.
    missing = records[records["ndvi_dn"].isna()]
    assert set(missing["date"]) == {pd.Timestamp("2018-05-09")}
    assert (missing["summary_qa"] == -1).all() and len(missing) == 10
    # The observation day lies in the 16-day composite; the year's last one reaches
    # into January (at most 21 days after its start in these records).
    offset = (records["obs"] - records["date"]).dt.days
    assert offset.min() == 0 and offset.max() == 21


def test_a_real_row_decoded_by_hand(records):
    row = records[(records["site"] == "AT-Neu") & (records["date"] == "2000-03-05")].iloc[0]
    # DayOfYear 80 -> observed 2000-03-20; SummaryQA 2 (snow/ice), NDVI 0.0086.
    assert row["obs"] == pd.Timestamp("2000-03-20") and row["summary_qa"] == 2
    # 18449 = 0b0100_1000_0001_0001 = 16384 + 2048 + 16 + 1:
    #   bits 0-1 = 01 VI produced, check other QA; bits 2-5 = 0100 usefulness 4;
    #   bits 6-7 = 00 aerosol climatology; bits 8, 9, 10 = 0; bits 11-13 = 001 land;
    #   bit 14 = 1 possible snow/ice; bit 15 = 0 no shadow.
    assert row["detailed_qa"] == 18449
    f = {k: int(v) for k, v in decode_mod13_detailed_qa(np.int64(row["detailed_qa"])).items()}
    assert f == {
        "vi_quality": 1,
        "vi_usefulness": 4,
        "aerosol": 0,
        "adjacent_cloud": 0,
        "brdf_correction": 0,
        "mixed_clouds": 0,
        "land_water": 1,
        "snow_ice": 1,
        "shadow": 0,
    }


def test_summary_qa_agrees_with_detailed_qa(records):
    r = records.dropna(subset=["detailed_qa"])
    f = decode_mod13_detailed_qa(r["detailed_qa"].to_numpy(np.int64))
    s = r["summary_qa"].to_numpy()
    assert (f["vi_quality"][s == 0] == 0).all() and (s == 0).sum() == 2172
    assert (f["snow_ice"][s == 2] == 1).all() and (s == 2).sum() == 415
    assert (f["vi_quality"][s == 3] == 2).all() and (s == 3).sum() == 530
    # Land at 7 sites; ocean coastline / lake shore (code 2) at the coastal US-KS2.
    assert (f["land_water"][r["site"] == "US-KS2"] == 2).all()


def test_qa_shares_of_two_sites(records):
    shares = reliability_shares(records) * 422  # exact counts of the 422 composites
    at = shares.loc["AT-Neu"].round(6).tolist()
    cn = shares.loc["CN-Cha"].round(6).tolist()
    assert at == [146, 133, 78, 64, 1]  # good, marginal, snow/ice, cloudy, fill
    assert cn == [176, 129, 7, 109, 1]


def _season(records, site, year):
    s = records[records["site"] == site]
    return fit_season(s["obs"], screened_ndvi(s["ndvi_dn"], s["summary_qa"]), year).metrics


# HANTS is deterministic: SOS is pinned to 0.05 day (summation order only); the peak
# is the argmax of a daily curve, pinned to one day in case a near tie flips.
@pytest.mark.parametrize(
    ("site", "sos", "peak", "peak_ndvi"),
    [("CH-Oe2", 76.43, 131, 0.75), ("CN-Cha", 92.60, 208, 0.89)],
)
def test_season_2015(records, site, sos, peak, peak_ndvi):
    m = _season(records, site, 2015)
    assert m["pheno_sos"] == pytest.approx(sos, abs=0.05)
    assert m["pheno_pos"] == pytest.approx(peak, abs=1)
    assert m["pheno_peak"] == pytest.approx(peak_ndvi, abs=0.005)
    assert m["pheno_flag"] == 0


def test_cn_cha_green_up_is_spring_every_year(records):
    """The mixed forest at Changbaishan leafs out between mid-March and April (DOY 76-120)."""
    sos = [_season(records, "CN-Cha", y)["pheno_sos"] for y in range(2001, 2018)]
    assert 75 < min(sos) and max(sos) < 120
