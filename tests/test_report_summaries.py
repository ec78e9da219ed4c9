"""Report summaries worked out by hand on small tables."""

import pandas as pd
import pytest

from agrifactory.report.summaries import fusion_validation_summary

COLUMNS = ["heldout_date", "method", "r", "rmse", "mad", "bias", "coverage"]


def _write(path, rows):
    pd.DataFrame(rows, columns=COLUMNS).to_csv(path, index=False)
    return path


def test_wins_are_strict_and_shared_lowest_rmse_is_a_tie(tmp_path):
    a = _write(
        tmp_path / "a.csv",
        [
            ("2021-04-11", "quality", 0.9, 0.02, 0.01, 0.0, 0.8),
            ("2021-04-11", "nearest_clear", 0.8, 0.03, 0.02, 0.0, 0.6),
            ("2021-06-14", "quality", 0.9, 0.025, 0.01, 0.0, 0.5),  # same pairs: a tie
            ("2021-06-14", "nearest_clear", 0.9, 0.025, 0.01, 0.0, 0.5),
        ],
    )
    b = _write(
        tmp_path / "b.csv",
        [
            ("2021-04-11", "quality", 0.7, 0.04, 0.03, 0.01, 0.9),
            ("2021-04-11", "nearest_clear", 0.8, 0.03, 0.02, 0.0, 0.3),
            ("2021-06-14", "quality", None, None, None, None, 0.0),  # nothing predicted
            ("2021-06-14", "nearest_clear", 0.9, 0.05, 0.04, 0.0, 0.2),
        ],
    )
    out = fusion_validation_summary({"t1": a, "t2": b}).set_index("method")
    assert out.loc["quality", "wins"] == 1 and out.loc["quality", "ties"] == 1
    assert out.loc["nearest_clear", "wins"] == 2 and out.loc["nearest_clear", "ties"] == 1
    assert out.loc["quality", "cases"] == 3  # the row without an RMSE is not a case
    assert out.loc["quality", "rmse"] == pytest.approx((0.02 + 0.025 + 0.04) / 3)
    assert out.loc["nearest_clear", "coverage_pct"] == pytest.approx(100 * 1.6 / 4)


def test_no_tables_give_an_empty_summary():
    assert fusion_validation_summary({}).empty
