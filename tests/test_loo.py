"""Leave-one-out accuracy (agrifactory.classify.loo) and seasons (timeaxis.season_year)."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest

from agrifactory.classify.loo import leave_one_out, loo_report
from agrifactory.timeseries.timeaxis import season_year


def test_season_year():
    assert season_year(dt.date(2013, 9, 14), 9) == 2014
    assert season_year(dt.date(2014, 8, 29), 9) == 2014
    assert season_year(dt.date(2013, 8, 31), 9) == 2013
    assert season_year(dt.date(2013, 12, 31)) == 2013
    with pytest.raises(ValueError, match="1..12"):
        season_year(dt.date(2013, 1, 1), 13)


def test_loo_report_counts_by_hand():
    pred = pd.DataFrame(
        {"sample_id": list("abcde"), "label": ["x", "x", "x", "y", "y"],
         "predicted": ["x", "x", "y", "y", "x"]}
    )  # fmt: skip
    pred["correct"] = pred["label"] == pred["predicted"]
    report = loo_report(pred).set_index("class")
    assert report.loc["x", ["n", "correct"]].tolist() == [3, 2]
    assert report.loc["y", ["n", "correct"]].tolist() == [2, 1]
    assert report.loc["all", "accuracy"] == pytest.approx(0.6)
    assert report.loc["all", "std_error"] == pytest.approx(np.sqrt(0.6 * 0.4 / 5))


def test_leave_one_out_on_two_separated_clusters():
    # Two tight clusters far apart: every held-out point lies in its own class's cluster.
    rng = np.random.default_rng(0)
    x = np.r_[rng.normal(0.2, 0.01, 4), rng.normal(0.8, 0.01, 4)]
    table = pd.DataFrame(
        {"sample_id": [str(i) for i in range(8)], "label": ["a"] * 4 + ["b"] * 4,
         "hants_doy001": x, "hants_doy017": x + 0.05, "other": 0.0}
    )  # fmt: skip
    out = leave_one_out(table, kind="svm", features=["hants_*"], seed=1)
    assert out["correct"].all()
    assert out["predicted"].tolist() == ["a"] * 4 + ["b"] * 4


def test_hants_band_names_of_a_season():
    from agrifactory.classify.stack import hants_names
    from agrifactory.errors import GridError

    dates = ["2013-09-14", "2014-02-18"]
    assert hants_names(dates, "x.tif", 2014, 9) == ["hants_doy257", "hants_doy049"]
    with pytest.raises(GridError, match="expected the year 2014"):
        hants_names(dates, "x.tif", 2014)
