"""Report summaries worked out by hand on small tables."""

import pandas as pd
import pytest

from agrifactory.report.summaries import fusion_flag_validation_summary, fusion_validation_summary

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


def test_flag_classes_pool_their_pixels(tmp_path):
    """RMSE pooled by pixel count; rows without pixels count for coverage only."""
    columns = ["heldout_date", "method", "flag", "flag_name", "coverage", "n", "rmse", "bias",
               "baseline_rmse"]  # fmt: skip
    rows = [
        ("2021-04-11", "quality", 1, "weighted", 0.6, 300, 0.02, 0.0, 0.04),
        ("2021-04-11", "quality", 6, "regression_fill", 0.4, 100, 0.03, 0.0, 0.02),
        ("2021-06-14", "quality", 1, "weighted", 0.2, 100, 0.04, 0.0, 0.05),
        ("2021-06-14", "quality", 6, "regression_fill", 0.0, 0, None, None, None),
    ]
    path = tmp_path / "v.csv"
    pd.DataFrame(rows, columns=columns).to_csv(path, index=False)
    out = fusion_flag_validation_summary({"t1": path}).set_index("flag_name")
    # Weighted: sqrt((300 * 0.02^2 + 100 * 0.04^2) / 400) = sqrt(0.0007).
    assert out.loc["weighted", "rmse"] == pytest.approx(0.0007**0.5)
    assert out.loc["weighted", "baseline_rmse"] == pytest.approx(
        ((300 * 16 + 100 * 25) / 4e6) ** 0.5
    )
    assert out.loc["weighted", "mean_rmse"] == pytest.approx(0.03)
    assert out.loc["weighted", "cases"] == 2 and out.loc["weighted", "n"] == 400
    assert bool(out.loc["weighted", "beats_baseline"])
    assert out.loc["regression_fill", "cases"] == 1
    assert out.loc["regression_fill", "coverage_pct"] == pytest.approx(20.0)
    assert not out.loc["regression_fill", "beats_baseline"]
    assert fusion_flag_validation_summary({}).empty
