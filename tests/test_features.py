"""Features: harmonic terms, monthly medians and phenology on hand-made series."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pytest

from agrifactory.errors import ConfigError
from agrifactory.timeseries.features import (
    MONTHLY_NAMES,
    PHENO_NO_END,
    PHENO_NO_START,
    PHENOLOGY_NAMES,
    feature_stack,
    harmonic_features,
    monthly_medians,
    phenology,
)
from agrifactory.timeseries.hants import HantsParams, hants_fit
from agrifactory.timeseries.timeaxis import day_of_year, days_since, year_days

DOY = np.arange(1.0, 366.0)


def trapezoid_curve(rise=(100, 160), fall=(200, 260), base=0.2, top=0.8):
    """Flat 0.2, linear rise to 0.8 over DOY 100-160, plateau, fall back over 200-260."""
    return np.interp(
        DOY, [1, rise[0], rise[1], fall[0], fall[1], 365], [base, base, top, top, base, base]
    )


def pheno_dict(curve, **kw):
    data, names = phenology(np.asarray(curve)[:, None], DOY, **kw)
    return dict(zip(names, data[:, 0].tolist(), strict=True))


def test_phenology_of_a_piecewise_linear_season_by_hand():
    f = pheno_dict(trapezoid_curve())
    # amplitude 0.6 on both sides: 20 % level 0.32, 80 % level 0.68, slopes +-0.01 per day.
    assert f["pheno_sos"] == pytest.approx(112.0)
    assert f["pheno_pos"] == 160.0  # first day of the plateau
    assert f["pheno_eos"] == pytest.approx(248.0)
    assert f["pheno_peak"] == pytest.approx(0.8)
    assert f["pheno_greenup"] == pytest.approx(0.36 / 36)  # 112 -> 148
    assert f["pheno_senescence"] == pytest.approx(0.36 / 36)  # 212 -> 248
    # 112..160 rise from 0.32 to 0.8, 160..200 at 0.8, 200..248 fall to 0.32.
    assert f["pheno_integral"] == pytest.approx(48 * 0.56 + 40 * 0.8 + 48 * 0.56, rel=1e-6)
    assert f["pheno_flag"] == 0


def test_phenology_uses_each_side_s_own_base():
    curve = trapezoid_curve()
    curve[DOY > 260] = 0.4  # ends higher than it starts
    curve[(DOY > 200) & (DOY <= 260)] = np.interp(
        DOY[(DOY > 200) & (DOY <= 260)], [200, 260], [0.8, 0.4]
    )
    f = pheno_dict(curve)
    # right amplitude 0.4: 20 % level 0.48 reached at 200 + 0.32 / (0.4 / 60) = 248
    assert f["pheno_eos"] == pytest.approx(248.0)
    assert f["pheno_senescence"] == pytest.approx(0.24 / 36)
    assert f["pheno_sos"] == pytest.approx(112.0)


def test_phenology_of_a_double_logistic_matches_the_analytic_crossings():
    k, m1, m2 = 0.1, 120.0, 270.0
    curve = 0.15 + 0.6 * (1 / (1 + np.exp(-k * (DOY - m1))) - 1 / (1 + np.exp(-k * (DOY - m2))))
    f = pheno_dict(curve)
    ln4 = np.log(4.0)  # a logistic crosses 20 % and 80 % at m -+ ln(4) / k
    assert f["pheno_sos"] == pytest.approx(m1 - ln4 / k, abs=0.3)
    assert f["pheno_eos"] == pytest.approx(m2 + ln4 / k, abs=0.3)
    assert f["pheno_pos"] == pytest.approx((m1 + m2) / 2, abs=1.0)
    assert f["pheno_greenup"] == pytest.approx(0.6 * 0.6 / (2 * ln4 / k), rel=0.01)
    assert f["pheno_senescence"] == pytest.approx(0.6 * 0.6 / (2 * ln4 / k), rel=0.01)


def test_phenology_without_a_season_or_with_a_cut_season():
    flat = pheno_dict(np.full(365, 0.3))
    assert flat["pheno_flag"] == PHENO_NO_START | PHENO_NO_END
    assert (flat["pheno_sos"], flat["pheno_eos"], flat["pheno_pos"]) == (1.0, 365.0, 1.0)
    assert flat["pheno_greenup"] == 0 and flat["pheno_senescence"] == 0
    assert flat["pheno_integral"] == pytest.approx(0.3 * 364)
    # A season still rising on 31 December: its end was not seen.
    rising = pheno_dict(np.interp(DOY, [1, 300, 365], [0.2, 0.2, 0.7]))
    assert rising["pheno_flag"] == PHENO_NO_END and rising["pheno_eos"] == 365.0
    assert rising["pheno_pos"] == 365.0 and rising["pheno_senescence"] == 0.0
    assert rising["pheno_sos"] == pytest.approx(300 + 65 * 0.2)


def test_phenology_parameter_checks():
    with pytest.raises(ConfigError):
        phenology(np.zeros((365, 1)), DOY, start_fraction=0.8, rate_fraction=0.2)
    with pytest.raises(ConfigError):
        phenology(np.zeros((365, 1)), DOY, min_amplitude=0)


def test_harmonic_features():
    coef = np.array([0.5, 0.0, -0.2, 0.3, 0.0])[:, None, None]
    data, names = harmonic_features(coef)
    assert names == [
        "harm_mean", "harm_cos1", "harm_sin1", "harm_cos2", "harm_sin2",
        "harm_amp1", "harm_amp2", "harm_phase1", "harm_phase2",
    ]  # fmt: skip
    np.testing.assert_allclose(data[:, 0, 0], [0.5, 0, -0.2, 0.3, 0, 0.2, 0.3, 270, 0], atol=1e-6)
    assert data.dtype == np.float32


def test_monthly_medians_by_hand():
    dates = [dt.date(2020, 1, 5), dt.date(2020, 1, 13), dt.date(2020, 1, 21), dt.date(2020, 3, 1)]
    v = np.array([[0.1, np.nan], [0.5, np.nan], [0.2, 0.4], [np.nan, np.nan]])
    data, names, filled = monthly_medians(v, dates)
    assert names == MONTHLY_NAMES and data.shape == (12, 2)
    np.testing.assert_allclose(data[0], [0.2, 0.4])
    assert np.isnan(data[1]).all() and np.isnan(data[2]).all()  # no date / no valid value
    fallback = np.array([[0.0, 0.0], [0.0, 0.0], [0.0, 0.0], [0.33, 0.44]])
    data, _, filled = monthly_medians(v, dates, fallback=fallback)
    np.testing.assert_allclose(data[2], [0.33, 0.44], rtol=1e-6)
    assert filled[2].all() and not filled[0].any()


def test_feature_stack_of_a_tile_year():
    year = 2021
    dates = [dt.date(year, 1, 1) + dt.timedelta(days=8 * i) for i in range(46)]
    t = days_since(dates, dt.date(year, 1, 1))
    rng = np.random.default_rng(0)
    season = np.interp(
        day_of_year(dates), [1, 100, 160, 200, 260, 365], [0.2, 0.2, 0.8, 0.8, 0.2, 0.2]
    )
    values = season[:, None, None] + 0.01 * rng.standard_normal((46, 3, 4))
    values[5:10, 0, 0] = np.nan  # February without data in one pixel
    values[:, 2, 3] = np.nan  # one pixel without any data
    params = HantsParams(n_freq=3)
    fit = hants_fit(values, t, params=params)
    stack = feature_stack(values, dates, fit.coefficients, base_period=365.0, year=year)
    n_h = 4 * 3 + 1
    assert len(stack.names) == len(stack.units) == stack.data.shape[0] == n_h + 12 + 8
    assert stack.names[n_h : n_h + 12] == MONTHLY_NAMES and stack.names[-8:] == PHENOLOGY_NAMES
    assert stack.data.shape[1:] == (3, 4) and stack.data.dtype == np.float32
    assert np.isfinite(stack.data).all()
    f = dict(zip(stack.names, stack.data[:, 1, 1], strict=True))
    # The HANTS curve is smooth, so its season is close to, not exactly, the trapezoid's.
    assert f["pheno_sos"] == pytest.approx(112, abs=8) and f["pheno_eos"] == pytest.approx(
        248, abs=8
    )
    assert f["pheno_pos"] == pytest.approx(180, abs=15) and f["pheno_flag"] == 0
    assert f["ndvi_med_07"] == pytest.approx(0.8, abs=0.03)
    feb = np.nanmedian(values[[4, 5, 6, 7], 1, 1])  # band dates in February: DOY 33..57
    assert [d.month for d in dates[4:8]] == [2, 2, 2, 2]
    assert f["ndvi_med_02"] == pytest.approx(feb, abs=1e-6)
    # No data at all: the fill value everywhere, phenology flagged as without season.
    g = dict(zip(stack.names, stack.data[:, 2, 3], strict=True))
    assert g["harm_mean"] == params.fill_value and g["pheno_flag"] == 3
    assert len(year_days(2020)) == 366
