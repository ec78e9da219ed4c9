"""Savitzky-Golay comparison smoother and its linear gap filling."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.signal import savgol_filter

from agrifactory.errors import ConfigError
from agrifactory.timeseries.savgol import gap_fill_linear, regular_grid, savgol_smooth


def test_gap_fill_by_hand():
    t = np.array([0.0, 10.0, 20.0, 30.0, 40.0])
    y = np.array([[1.0, 5.0], [2.0, 5.0], [9.0, 5.0], [4.0, 5.0], [5.0, 5.0]])
    valid = np.array([[0, 0], [1, 0], [0, 0], [1, 1], [0, 0]], dtype=bool)
    out = gap_fill_linear(y, t, valid, np.array([0.0, 10.0, 15.0, 20.0, 30.0, 35.0, 40.0]))
    # Column 0: valid at t=10 (2) and t=30 (4); held constant outside, linear inside.
    np.testing.assert_allclose(out[:, 0], [2, 2, 2.5, 3, 4, 4, 4])
    np.testing.assert_allclose(out[:, 1], 5.0)  # one valid sample: constant
    none = gap_fill_linear(y, t, np.zeros_like(valid), t, fill_value=-1.0)
    np.testing.assert_allclose(none, -1.0)


def test_gap_fill_repeated_day_uses_the_later_sample():
    t = np.array([0.0, 5.0, 5.0, 10.0])
    y = np.array([[0.0], [1.0], [3.0], [3.0]])
    out = gap_fill_linear(y, t, np.ones((4, 1), bool), np.array([5.0, 7.5]))
    np.testing.assert_allclose(out[:, 0], [3.0, 3.0])


def test_regular_grid():
    np.testing.assert_allclose(regular_grid(np.array([0.0, 8, 16, 40])), [0, 8, 16, 24, 32, 40])
    np.testing.assert_allclose(regular_grid(np.array([0.0, 7.0]), step=5), [0, 5, 10])


def test_on_a_regular_complete_series_it_is_scipy_savgol():
    rng = np.random.default_rng(0)
    t = np.arange(46) * 8.0
    y = rng.uniform(0, 1, (46, 5))
    out = savgol_smooth(y, t, window_length=7, polyorder=2)
    np.testing.assert_allclose(out.values, savgol_filter(y, 7, 2, axis=0, mode="interp"))
    assert out.n_valid.tolist() == [46] * 5


def test_gaps_are_filled_before_filtering_and_stacks_keep_their_shape():
    t = np.arange(46) * 8.0
    line = 0.2 + 0.001 * t  # a straight line survives both steps unchanged
    y = np.tile(line[:, None, None], (1, 2, 3))
    y[[5, 6, 20], 0, 0] = np.nan
    mask = np.zeros(y.shape, bool)
    mask[30:35, 1, 2] = True
    y[30:35, 1, 2] = -0.5
    out = savgol_smooth(y, t, mask=mask, t_out=np.arange(0.0, 361.0))
    assert out.values.shape == (361, 2, 3)
    np.testing.assert_allclose(
        out.values,
        np.broadcast_to((0.2 + 0.001 * np.arange(361.0))[:, None, None], (361, 2, 3)),
        atol=1e-12,
    )
    assert out.n_valid[0, 0] == 43 and out.n_valid[1, 2] == 41


def test_bad_windows():
    t = np.arange(10) * 8.0
    with pytest.raises(ConfigError):
        savgol_smooth(np.zeros((10, 1)), t, window_length=6)
    with pytest.raises(ConfigError):
        savgol_smooth(np.zeros((10, 1)), t, window_length=11)


def test_plot_series_fits_writes_a_png(tmp_path):
    import datetime as dt

    from agrifactory.timeseries.plots import plot_series_fits

    dates = [dt.date(2020, 1, 1) + dt.timedelta(days=8 * i) for i in range(5)]
    obs = np.array([[0.2, 0.3], [0.4, np.nan], [0.1, 0.5], [0.6, 0.5], [0.5, 0.4]])
    out = plot_series_fits(
        tmp_path / "fit.png", dates, obs, obs < 0.15, dates, {"curve": obs}, ["a", "b"]
    )
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
