"""Temporal pre-alignment: shifting series in time, and the shift MK-MMD chooses."""

from __future__ import annotations

import numpy as np
import pytest

from agrifactory.adapt.align import estimate_shift, fill_time_gaps, shift_series


def test_shift_series_by_hand():
    x = np.array([[[0.0, 10.0, 20.0, 30.0]]])
    np.testing.assert_allclose(shift_series(x, 1), [[[0, 0, 10, 20]]])
    np.testing.assert_allclose(shift_series(x, -1), [[[10, 20, 30, 30]]])
    np.testing.assert_allclose(shift_series(x, 0.5), [[[0, 5, 15, 25]]])
    np.testing.assert_allclose(shift_series(x, -0.25), [[[2.5, 12.5, 22.5, 30]]])
    assert shift_series(x, 0).dtype == np.float32


def test_shifting_there_and_back_keeps_the_inside():
    x = np.random.default_rng(0).random((5, 2, 20)).astype(np.float32)
    back = shift_series(shift_series(x, 2), -2)
    np.testing.assert_allclose(back[..., :-2], x[..., :-2], atol=1e-6)


def _bumps(n: int, shift: float, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    t = np.arange(30)
    centre = rng.choice([8.0, 12.0, 16.0], size=n)[:, None] + shift
    x = np.exp(-0.5 * ((t[None, :] - centre) / 2.0) ** 2) + 0.02 * rng.standard_normal((n, 30))
    return x[:, None, :].astype(np.float32)


@pytest.mark.parametrize("true_shift", [-2.0, 0.0, 1.5, 3.0])
def test_the_estimated_shift_undoes_a_known_one(true_shift):
    xs, xt = _bumps(120, 0.0, 1), _bumps(150, true_shift, 2)
    best, mmd = estimate_shift(xs, xt, max_shift=4, step=0.5, multipliers=(0.5, 1, 2))
    assert best == -true_shift
    assert mmd[best] == min(mmd.values()) and len(mmd) == 17


def test_fill_time_gaps_by_hand():
    nan = np.nan
    x = np.array(
        [
            [[nan, 2.0, nan, nan, 8.0, nan], [1.0, 1.0, 1.0, 1.0, 1.0, 1.0]],
            [[nan, nan, nan, nan, nan, nan], [nan, 3.0, nan, 5.0, nan, nan]],
        ],
        dtype=np.float32,
    )
    out = fill_time_gaps(x, fallback=[-1.0, -2.0])
    # Linear between valid steps, the nearest value held at both ends; a series without
    # any value takes its channel's fallback.
    np.testing.assert_array_equal(
        out,
        [
            [[2, 2, 4, 6, 8, 8], [1, 1, 1, 1, 1, 1]],
            [[-1, -1, -1, -1, -1, -1], [3, 3, 4, 5, 5, 5]],
        ],
    )
    assert out.dtype == np.float32
    assert not np.isnan(x[0, 1]).any() and np.isnan(x[0, 0, 0])  # the input is not changed


def test_fill_time_gaps_keeps_complete_series_and_leaves_infinity():
    x = np.random.default_rng(3).random((4, 3, 7)).astype(np.float32)
    np.testing.assert_array_equal(fill_time_gaps(x, [0, 0, 0]), x)
    x[1, 2, 3], x[0, 0, 0] = np.inf, np.nan
    out = fill_time_gaps(x, [0, 0, 0])
    assert np.isinf(out[1, 2, 3]) and out[0, 0, 0] == x[0, 0, 1]
