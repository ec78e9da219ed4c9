"""Area-weighted aggregation and composite gap-filling, checked against hand calculations."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pytest
from affine import Affine

from agrifactory.soil_moisture.aggregate import aggregation_weights, area_weighted_aggregate
from agrifactory.soil_moisture.gapfill import composite_centres, composites_to_daily

# 4x4 source pixels of 1 unit, x 0..4, y 4..0; value = 4 * row + col
SRC = Affine(1, 0, 0, 0, -1, 4)
VALUES = np.arange(16, dtype=float).reshape(4, 4)
# 2x3 destination cells of 1.5 units starting at x=0.5, y=3.5: the last column
# reaches past the source (x 3.5..5) and covers it for only a third of its width
DST = Affine(1.5, 0, 0.5, 0, -1.5, 3.5)


def test_partial_cells_by_hand():
    mean, cover = area_weighted_aggregate(
        VALUES, SRC, DST, (2, 3), geographic=False, min_coverage=0.3
    )
    # cell (0, 0): rows 0, 1 weigh 0.5, 1.0; cols 0, 1 weigh 0.5, 1.0
    # mean row = 2/3, mean col = 2/3 -> 4 * 2/3 + 2/3 = 10/3
    assert mean[0, 0] == pytest.approx(10 / 3)
    # cell (1, 1): rows 2, 3 weigh 1.0, 0.5; cols 2, 3 weigh 1.0, 0.5 -> 4 * 7/3 + 7/3
    assert mean[1, 1] == pytest.approx(35 / 3)
    # cell (0, 2): only column 3 (x 3..4) overlaps, for 0.5 of 1.5: coverage 1/3
    assert cover[0, 2] == pytest.approx(1 / 3)
    assert mean[0, 2] == pytest.approx(4 * (2 / 3) + 3)
    assert cover[0, 0] == pytest.approx(1.0)
    strict, _ = area_weighted_aggregate(VALUES, SRC, DST, (2, 3), geographic=False)
    assert np.isnan(strict[0, 2]) and strict[1, 1] == pytest.approx(35 / 3)


def test_missing_pixels_carry_no_weight():
    vals = VALUES.copy()
    vals[1, 1] = np.nan  # weight 1.0 of cell (0, 0)'s 2.25
    mean, cover = area_weighted_aggregate(vals, SRC, DST, (2, 3), geographic=False)
    assert cover[0, 0] == pytest.approx(1.25 / 2.25)
    assert mean[0, 0] == pytest.approx((0.25 * 0 + 0.5 * 1 + 0.5 * 4) / 1.25)


def test_geographic_rows_weighted_by_true_area():
    src = Affine(1, 0, 0, 0, -30, 60)  # two rows: 60..30 N and 30..0 N
    dst = Affine(1, 0, 0, 0, -60, 60)  # one cell 60..0 N
    vals = np.array([[1.0], [0.0]])
    mean, _ = area_weighted_aggregate(vals, src, dst, (1, 1), geographic=True)
    north = np.sin(np.deg2rad(60)) - np.sin(np.deg2rad(30))
    south = np.sin(np.deg2rad(30))
    assert mean[0, 0] == pytest.approx(north / (north + south))  # 0.4226, not 0.5


def test_time_stacks_and_weights_sum():
    stack = np.stack([VALUES, 2 * VALUES])
    mean, _ = area_weighted_aggregate(stack, SRC, DST, (2, 3), geographic=False, min_coverage=0.3)
    np.testing.assert_allclose(mean[1], 2 * mean[0])
    rows, cols, area = aggregation_weights(SRC, (4, 4), DST, (2, 3), geographic=False)
    np.testing.assert_allclose(
        np.outer(rows.sum(1), cols.sum(1)) / area, [[1, 1, 1 / 3], [1, 1, 1 / 3]]
    )


def _d(day: int) -> dt.date:
    return dt.date(2021, 1, 1) + dt.timedelta(days=day)


def test_composite_centres():
    starts = [dt.date(2021, 1, 1), dt.date(2021, 1, 9), dt.date(2021, 12, 27)]
    base = dt.date(1970, 1, 1).toordinal()
    c = composite_centres(starts) + base
    assert c[0] == dt.date(2021, 1, 1).toordinal() + 3.5
    assert c[1] == dt.date(2021, 1, 9).toordinal() + 3.5
    assert c[2] == dt.date(2021, 12, 27).toordinal() + 2  # 27-31 December: five days


def test_gapfill_by_hand():
    starts = [_d(0), _d(8), _d(16)]  # centres at day 3.5, 11.5, 19.5
    vals = np.array([[0.0, 100.0], [np.nan, 108.0], [16.0, np.nan]])
    days = [_d(k) for k in (0, 3, 4, 11, 12, 19, 25)]
    out = composites_to_daily(vals, starts, days)
    # pixel 0: the middle composite is missing; 0 at 3.5 and 16 at 19.5
    np.testing.assert_allclose(out[:, 0], [0, 0, 0.5, 7.5, 8.5, 15.5, 16])
    # pixel 1: the last is missing; after 11.5 the last valid value is held
    np.testing.assert_allclose(out[:, 1], [100, 100, 100.5, 107.5, 108, 108, 108])
    empty = composites_to_daily(np.full((3, 1), np.nan), starts, days)
    assert np.isnan(empty).all()
