"""ESTARFM on real Landsat 8 + MODIS at Kranj (ImageFusion example data), pinned.

Runs the experiment of ``benchmarks/eval_kranj_fusion.py`` (its functions, loaded
from the script): pairs DOY 068 and 093 plus MODIS 077 predict Landsat 077 of 2020.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import numba
import numpy as np
import pytest

from agrifactory.fusion import QA_TEMPORAL, QA_WEIGHTED, fuse

numba.set_num_threads(1)
pytestmark = pytest.mark.realdata


def _load_script():
    path = Path(__file__).resolve().parents[1] / "benchmarks" / "eval_kranj_fusion.py"
    spec = importlib.util.spec_from_file_location("eval_kranj_fusion", path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # the dataclass looks its module up
    spec.loader.exec_module(module)
    return module


kranj = _load_script()

NIR = 3
# Raw file values of band 4 (NIR) at row 10, col 10, read with rasterio by hand.
RAW_NIR_10_10 = {
    "landsat 068": 3549.2216796875,
    "landsat 093": 3622.82861328125,
    "landsat 077": 3118.486572265625,
    "modis 068": 0.2228618562221527,
    "modis 077": 0.23230430483818054,
    "modis 093": 0.255350798368454,
}

# Measured on 2026-12-06 (bands blue, green, red, NIR, SWIR1, SWIR2; reflectance 0-1).
# ESTARFM's prediction is float32, so r is pinned to 1e-5 and MAD to 1e-6 (a few
# float32 ulps of reflectance ~0.1); the baselines are float64 and would pass tighter.
PINNED = {
    ("filled", "ESTARFM"): {
        "r": (0.945742, 0.975617, 0.980163, 0.980037, 0.982692, 0.978425),
        "mad": (0.0058093, 0.0085311, 0.0087801, 0.0187650, 0.0093224, 0.0106479),
    },
    ("filled", "baseline"): {
        "r": (0.925422, 0.944834, 0.939980, 0.971038, 0.944305, 0.932039),
        "mad": (0.0090050, 0.0103698, 0.0102204, 0.0198480, 0.0187878, 0.0160653),
    },
    ("filled", "two-pair"): {
        "r": (0.953162, 0.969464, 0.970411, 0.980924, 0.968444, 0.962279),
        "mad": (0.0070472, 0.0089947, 0.0089971, 0.0192112, 0.0133461, 0.0125942),
    },
    ("unfilled", "ESTARFM"): {
        "r": (0.934914, 0.974899, 0.981387, 0.979719, 0.983642, 0.980520),
        "mad": (0.0059515, 0.0089551, 0.0091149, 0.0194939, 0.0093578, 0.0109123),
    },
    ("unfilled", "baseline"): {
        "r": (0.909656, 0.939526, 0.932706, 0.971096, 0.945487, 0.933577),
        "mad": (0.0093199, 0.0107254, 0.0105730, 0.0202652, 0.0185993, 0.0163911),
    },
}
TOLERANCE = {"r": 1e-5, "mad": 1e-6}


@pytest.fixture(scope="module")
def folder(shared_data):
    path = shared_data / "fusion_kranj"
    if not path.is_dir():
        pytest.skip(f"{path} is absent")
    return path


@pytest.fixture(scope="module")
def result(folder):
    return kranj.run(folder)


@pytest.fixture(scope="module")
def table(result):
    return kranj.scores(result)


def test_day_of_year_maps_to_the_files(folder):
    assert kranj.landsat_path(folder, 77).name == "2020077_190-28.tif_filled_kranj.tif"
    assert kranj.landsat_path(folder, 68, filled=False).name == "2020068_191-28_kranj.tif"
    assert kranj.modis_path(folder, 93).name == "2020093_18-04_kranj.tif"
    with pytest.raises(kranj.InputError, match="0 files match"):
        kranj.modis_path(folder, 94)  # MODIS stops at DOY 093


def test_reading_scales_to_reflectance_and_masks_the_gaps(folder):
    filled = kranj.read_landsat(folder, 77)
    unfilled = kranj.read_landsat(folder, 77, filled=False)
    assert filled.shape == unfilled.shape == (6, 44, 45)
    assert filled[NIR, 10, 10] == RAW_NIR_10_10["landsat 077"] / 1e4
    assert kranj.read_modis(folder, 77)[NIR, 10, 10] == RAW_NIR_10_10["modis 077"]
    gaps = np.isnan(unfilled)
    # 104 of 1980 pixels (5.3 %), the same in every band; row 1, col 0 is one of them.
    assert gaps.sum(axis=(1, 2)).tolist() == [104] * 6
    assert (gaps == gaps[0]).all() and gaps[0, 1, 0]
    assert not np.isnan(filled).any()
    np.testing.assert_array_equal(filled[~gaps], unfilled[~gaps])


def test_baselines_at_one_pixel_by_hand(result):
    raw = RAW_NIR_10_10
    one = raw["landsat 068"] / 1e4 + raw["modis 077"] - raw["modis 068"]
    other = raw["landsat 093"] / 1e4 + raw["modis 077"] - raw["modis 093"]
    assert one == pytest.approx(0.3643646, abs=1e-7)
    assert result.predictions["baseline"][NIR, 10, 10] == pytest.approx(one, abs=1e-12)
    # DOY 077 is 9 days after 068 and 16 before 093: weights 16/25 and 9/25.
    two = 0.64 * one + 0.36 * other
    assert result.predictions["two-pair"][NIR, 10, 10] == pytest.approx(two, abs=1e-12)
    assert result.predictions["ESTARFM"][NIR, 10, 10] == pytest.approx(0.358319, abs=1e-6)


def test_estarfm_predicts_every_pixel(result):
    flags, counts = np.unique(result.qa, return_counts=True)
    assert dict(zip(flags.tolist(), counts.tolist(), strict=True)) == {
        QA_WEIGHTED: 10656,
        QA_TEMPORAL: 1224,
    }
    assert np.isfinite(result.predictions["ESTARFM"]).all()


@pytest.mark.parametrize(("truth", "method"), sorted(PINNED))
def test_agreement_is_pinned(table, truth, method):
    rows = table[(table["truth"] == truth) & (table["method"] == method)]
    assert rows["band"].tolist() == list(kranj.BANDS)
    assert rows["n"].tolist() == [1980 if truth == "filled" else 1876] * 6
    for key, pinned in PINNED[truth, method].items():
        np.testing.assert_allclose(rows[key], pinned, atol=TOLERANCE[key], rtol=0, err_msg=key)


def test_estarfm_beats_the_one_pair_baseline_in_every_band(table):
    wide = table.set_index(["truth", "method", "band"])
    for truth in ("filled", "unfilled"):
        est, base = wide.loc[(truth, "ESTARFM")], wide.loc[(truth, "baseline")]
        assert (est["r"] > base["r"]).all() and (est["mad"] < base["mad"]).all()


def test_r_is_pearson_by_numpy(result, table):
    red = kranj.BANDS.index("red")
    r = np.corrcoef(result.predictions["ESTARFM"][red].ravel(), result.truth[red].ravel())[0, 1]
    row = table[(table["truth"] == "filled") & (table["method"] == "ESTARFM")]
    assert row["r"].iloc[red] == pytest.approx(r, abs=1e-12)


def test_block_layouts_agree_on_an_image_smaller_than_a_block(folder, result):
    # 45 x 44 px < block_size 500: one block, windows clipped only at the image edge.
    f1, f2 = (kranj.read_landsat(folder, d) for d in kranj.BASE_DOYS)
    c1, c2 = (kranj.read_modis(folder, d) for d in kranj.BASE_DOYS)
    params = kranj.PARAMS.model_copy(update={"layout": "reference"})
    pred, qa = fuse(f1, c1, f2, c2, kranj.read_modis(folder, kranj.TARGET_DOY), params)
    np.testing.assert_array_equal(qa, result.qa)
    np.testing.assert_array_equal(pred, result.predictions["ESTARFM"])
