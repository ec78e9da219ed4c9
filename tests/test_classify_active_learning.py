"""Active learning: uncertainty, spaced proposals, the GeoPackage writer, the simulation."""

from __future__ import annotations

import warnings

import geopandas as gpd
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from agrifactory.classify.active_learning import (
    PROPOSALS_LAYER,
    plot_learning_curve,
    proposals_frame,
    propose_samples,
    simulate_active_learning,
    uncertainty,
)
from agrifactory.classify.models import SVMClassifier
from agrifactory.classify.separability import SeparabilityWarning
from agrifactory.errors import ConfigError
from agrifactory.grid import ALBERS
from agrifactory.io.vector import write_gpkg


def test_uncertainty_by_hand():
    p = np.array([[1.0, 0.0, 0.0], [0.5, 0.5, 0.0], [1 / 3, 1 / 3, 1 / 3], [0.6, 0.3, 0.1]])
    np.testing.assert_allclose(uncertainty(p, "margin"), [0.0, 1.0, 1.0, 0.7])
    h = uncertainty(p, "entropy")
    np.testing.assert_allclose(h[[0, 2]], [0.0, 1.0])
    assert h[1] == pytest.approx(np.log(2) / np.log(3))
    with pytest.raises(ConfigError, match="'margin' or 'entropy'"):
        uncertainty(p, "variance")


def test_proposals_take_the_most_uncertain_first():
    p = np.array([[0.9, 0.1], [0.55, 0.45], [0.7, 0.3], [0.5, 0.5]])
    xy = np.array([[0, 0], [100, 0], [200, 0], [300, 0]], float)
    np.testing.assert_array_equal(propose_samples(p, xy, 2), [3, 1])
    # with spacing 150 m, sample 1 (100 m from... none) is still allowed, then 2 is too close to 1/3
    np.testing.assert_array_equal(propose_samples(p, xy, 3, min_distance=150), [3, 1])
    # an already labelled point blocks its neighbours
    np.testing.assert_array_equal(
        propose_samples(p, xy, 1, min_distance=150, labelled_xy=np.array([[290.0, 0.0]])), [1]
    )


@settings(max_examples=30, deadline=None)
@given(st.integers(0, 10_000), st.integers(1, 30), st.floats(0, 3000))
def test_proposals_respect_the_spacing(seed, k, spacing):
    rng = np.random.default_rng(seed)
    p = rng.dirichlet(np.ones(3), size=200)
    xy = rng.uniform(0, 10_000, size=(200, 2))
    picks = propose_samples(p, xy, k, min_distance=spacing)
    assert len(picks) <= k and len(set(picks.tolist())) == len(picks)
    d = np.sqrt(((xy[picks, None] - xy[None, picks]) ** 2).sum(-1))
    assert (d[~np.eye(len(picks), dtype=bool)] >= spacing).all()
    u = uncertainty(p)
    assert np.all(np.diff(u[picks]) <= 0)  # in order of decreasing uncertainty


def test_proposals_as_a_geopackage(tmp_path):
    p = np.array([[0.9, 0.1], [0.55, 0.45], [0.5, 0.5]])
    xy = np.array([[0, 0], [100, 0], [200, 0]], float)
    picks = propose_samples(p, xy, 2)
    frame = proposals_frame(
        xy,
        picks,
        p,
        [1, 2],
        crs=ALBERS,
        ids=["a", "b", "c"],
        class_names={1: "irrigated", 2: "rainfed"},
    )
    path = write_gpkg(frame, tmp_path / "next.gpkg", PROPOSALS_LAYER)
    frame = gpd.read_file(path, layer="proposals")
    assert frame["pool_id"].tolist() == ["c", "b"]
    assert frame["rank"].tolist() == [1, 2]
    assert frame["predicted_name"].tolist() == ["irrigated", "irrigated"]
    assert frame["label"].isna().all()
    assert frame.geometry.x.tolist() == [200.0, 100.0]
    assert frame.crs.equals(ALBERS)


def _easy_problem(n, seed):
    """Two classes split by a wavy boundary in feature space; coordinates independent."""
    rng = np.random.default_rng(seed)
    X = rng.uniform(0, 1, size=(n, 2))
    y = np.where(X[:, 0] > 0.4 + 0.1 * np.sin(6 * X[:, 1]), 1, 2)
    xy = rng.uniform(0, 20_000, size=(n, 2))
    return X, y, xy


def test_uncertainty_sampling_beats_random_on_an_easy_problem(tmp_path):
    X, y, xy = _easy_problem(1500, 0)
    Xt, yt, _ = _easy_problem(1000, 1)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SeparabilityWarning)
        curve = simulate_active_learning(
            lambda: SVMClassifier(C=100.0),
            X,
            y,
            xy,
            Xt,
            yt,
            initial=10,
            batch=10,
            rounds=6,
            min_distance=300.0,
            seed=0,
        )
    assert curve["n_labels"].tolist() == [10, 20, 30, 40, 50, 60, 70] * 2
    oa = curve.pivot(index="n_labels", columns="strategy", values="overall_accuracy")
    assert oa.loc[10, "uncertainty"] == oa.loc[10, "random"]  # same start
    later = oa.loc[40:]
    assert later["uncertainty"].mean() > later["random"].mean()
    assert oa.loc[70, "uncertainty"] > 0.93
    png = plot_learning_curve(curve, tmp_path / "curve.png")
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
