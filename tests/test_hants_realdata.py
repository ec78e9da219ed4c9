"""HANTS and Savitzky-Golay on real series: PROBA-V (irregular, daily axis) and Sentinel-2."""

from __future__ import annotations

import numpy as np
import pytest

from agrifactory.timeseries.evaluate import holdout_mask, rmse_on
from agrifactory.timeseries.hants import FLAG_OK, HantsParams, hants_fit
from agrifactory.timeseries.hants_reference import hants_fit_loop
from agrifactory.timeseries.sample_data import read_eolearn_patch, read_probav_folder
from agrifactory.timeseries.savgol import savgol_smooth
from agrifactory.timeseries.timeaxis import days_since

pytestmark = pytest.mark.realdata


@pytest.fixture(scope="module")
def probav(shared_data):
    series = read_probav_folder(shared_data / "hants_probav")
    t = days_since(series.dates, series.dates[0])
    return series, t, hants_fit(series.ndvi, t, params=HantsParams(base_period=365, n_freq=3))


def test_probav_files_are_read_as_ndvi(probav):
    series, t, _ = probav
    assert series.ndvi.shape == (98, 50, 71)
    assert len(set(series.dates)) == 98 and t[0] == 0 and t[-1] == 362
    # A third of the scenes are nodata everywhere (-3.4e38 read as NaN).
    empty = np.isnan(series.ndvi).all(axis=(1, 2))
    assert empty.sum() == 33
    finite = series.ndvi[~np.isnan(series.ndvi)]
    assert finite.min() == pytest.approx(-0.08) and finite.max() <= 0.92


def test_probav_daily_smoothing_rejects_cloud_dips(probav):
    series, t, fit = probav
    assert (fit.flag == FLAG_OK).all() and fit.n_valid.min() >= 64
    daily = fit.reconstruct(np.arange(0.0, 363.0))
    assert np.isfinite(daily).all() and daily.min() > -0.15 and daily.max() < 1.0
    # 2015-12-20 is a cloudy scene: 2267 pixels at the product's floor -0.08 (DN 0).
    i = [d.date().isoformat() for d in series.dates].index("2015-12-20")
    floor = series.ndvi[i] == np.float32(-0.08)
    assert floor.sum() == 2267 and fit.outliers[i][floor].all()
    # Kept samples lie at most the tolerance below the curve unless rejection hit its limit.
    fitted = fit.reconstruct(t, np.float64)
    kept = np.isfinite(series.ndvi) & ~fit.outliers
    below = np.where(kept, fitted - series.ndvi, -np.inf).max(axis=0)
    at_limit = fit.n_valid - fit.n_outliers == fit.params.min_samples
    assert np.all((below <= 0.05 + 1e-9) | at_limit)
    assert 0.015 < np.median(fit.rmse) < 0.04


def test_probav_batched_equals_the_per_series_loop(probav):
    series, t, fit = probav
    part = series.ndvi[:, 20:30, 30:45]
    ref = hants_fit_loop(part, t, params=fit.params)
    np.testing.assert_allclose(fit.coefficients[:, 20:30, 30:45], ref.coefficients, atol=1e-9)
    np.testing.assert_array_equal(fit.outliers[:, 20:30, 30:45], ref.outliers)


@pytest.fixture(scope="module")
def eolearn(shared_data):
    s = read_eolearn_patch(shared_data / "eolearn_patch")
    assert s.ndvi.shape == (68, 101, 100) and 0.35 < s.cloud.mean() < 0.45
    t = days_since(s.dates, s.dates[0])
    test = holdout_mask(~s.cloud, 0.2, seed=42)  # scored, never given to a smoother
    return s, t, test


def _rmse_hants_and_savgol(s, t, test, masked, where):
    hants = hants_fit(s.ndvi, t, mask=masked, params=HantsParams(base_period=365, n_freq=3))
    rmse_hants = rmse_on(hants.reconstruct(t), s.ndvi, test & where)
    rmse_sg = {
        w: rmse_on(
            savgol_smooth(s.ndvi, t, mask=masked, window_length=w).values, s.ndvi, test & where
        )
        for w in (5, 7, 11)
    }
    return rmse_hants, rmse_sg


def test_eolearn_hants_beats_savgol_when_clouds_are_left_in(eolearn):
    """The cloud mask only picks the clear samples to score; the smoothers do not see it.

    Both get every sample but the held-out 20 % of the clear ones, so detected and
    undetected clouds are in their input alike: HANTS rejects the low cloud samples,
    Savitzky-Golay smooths them in.
    """
    s, t, test = eolearn
    rmse_hants, rmse_sg = _rmse_hants_and_savgol(s, t, test, test, True)
    assert rmse_hants < 0.6 * min(rmse_sg.values()), (rmse_hants, rmse_sg)


def test_eolearn_hants_beats_savgol_in_the_growing_season_with_the_mask(eolearn):
    """With the cloud mask given to both, HANTS is closer from April to October.

    Over the whole year it is not: winter snow and clear-sky dips are low samples that
    HANTS rejects on purpose (docs/timeseries.md has the full table).
    """
    s, t, test = eolearn
    months = np.array([d.month for d in s.dates])[:, None, None]
    season = (months >= 4) & (months <= 10)
    rmse_hants, rmse_sg = _rmse_hants_and_savgol(s, t, test, test | s.cloud, season)
    assert rmse_hants < min(rmse_sg.values()), (rmse_hants, rmse_sg)
