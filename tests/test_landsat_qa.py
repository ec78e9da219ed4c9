"""Landsat Collection 2: product ids, QA_PIXEL and QA_RADSAT bits, scaling."""

import datetime as dt

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from agrifactory.errors import InputError
from agrifactory.io import landsat as l8


def test_product_id_is_parsed():
    pid = l8.parse_product_id("LC08_L2SP_124031_20210105_20210115_02_T1")
    assert (pid.sensor, pid.path, pid.row, pid.acquired, pid.family) == (
        "LC08",
        124,
        31,
        dt.date(2021, 1, 5),
        "oli",
    )
    assert pid.band_suffix("red") == "SR_B4"
    assert (
        l8.parse_product_id("LE07_L2SP_124031_20010105_20200915_02_T1").band_suffix("red")
        == "SR_B3"
    )
    with pytest.raises(InputError, match="not a Landsat Collection 2"):
        l8.parse_product_id("LC08_L1TP_124031_20210105_20210115_02_T1", source="x.TIF")


# Hand-made Collection 2 patterns, bit by bit:
#   21824 = 64 (clear) + 256 (cloud conf low) + 1024 (shadow conf low) + 4096 (snow conf low) + 16384 (cirrus conf low)
#   21952 = 21824 + 128 (water)
#   1     = fill
#   22280 = 8 (cloud) + 768 (cloud conf high) + 1024 + 4096 + 16384
#   23888 = 16 (shadow) + 64 (clear) + 256 + 3072 (shadow conf high) + 4096 + 16384
#   30048 = 32 (snow) + 64 (clear) + 256 + 1024 + 12288 (snow conf high) + 16384
#   21826 = 21824 + 2 (dilated cloud), clear bit kept as the real files do for it
PATTERNS = np.array([21824, 21952, 1, 22280, 23888, 30048, 21826], dtype=np.uint16)


def test_decode_hand_made_patterns():
    qa = l8.decode_qa_pixel(PATTERNS)
    assert qa["clear"].tolist() == [True, True, False, False, True, True, True]
    assert qa["water"].tolist() == [False, True, False, False, False, False, False]
    assert qa["fill"].tolist() == [False, False, True, False, False, False, False]
    assert qa["cloud"].tolist() == [False, False, False, True, False, False, True]
    assert qa["shadow"].tolist() == [False, False, False, False, True, False, False]
    assert qa["snow"].tolist() == [False, False, False, False, False, True, False]
    assert qa["cloud_conf"].tolist() == [1, 1, 0, 3, 1, 1, 1]
    assert qa["shadow_conf"].tolist() == [1, 1, 0, 1, 3, 1, 1]
    assert qa["snow_conf"].tolist() == [1, 1, 0, 1, 1, 3, 1]


def test_encoder_reproduces_the_usgs_values():
    z = np.zeros(3, bool)
    qa = l8.encode_qa_pixel(
        fill=np.array([False, False, True]),
        cloud=z,
        shadow=z,
        snow=z,
        water=np.array([False, True, False]),
    )
    assert qa.tolist() == [21824, 21952, 1]


@given(st.lists(st.tuples(*[st.booleans()] * 5), min_size=1, max_size=20))
def test_encode_then_decode_round_trips(flags):
    cloud, shadow, snow, water, fill = (np.array(f) for f in zip(*flags, strict=True))
    qa = l8.decode_qa_pixel(
        l8.encode_qa_pixel(fill=fill, cloud=cloud, shadow=shadow, snow=snow, water=water)
    )
    assert (qa["fill"] == fill).all()
    keep = ~fill
    assert (qa["cloud"][keep] == cloud[keep]).all() and (qa["shadow"][keep] == shadow[keep]).all()
    assert (qa["snow"][keep] == snow[keep]).all() and (qa["clear"][keep] == ~cloud[keep]).all()


def test_radsat_bits_are_band_minus_one():
    radsat = np.array([0, 1 << 3, 1 << 4, (1 << 3) | (1 << 4)], dtype=np.uint16)
    assert l8.saturated(radsat, [4]).tolist() == [False, True, False, True]
    assert l8.saturated(radsat, [4, 5]).tolist() == [False, True, True, True]
    assert l8.band_number("SR_B5") == 5


def test_scaling_worked_by_hand():
    # 7273 * 2.75e-5 - 0.2 = 7.5e-6; 43636 * 2.75e-5 - 0.2 = 0.99999
    refl = l8.reflectance(np.array([0, 7273, 43636], dtype=np.uint16))
    assert np.isnan(refl[0])
    np.testing.assert_allclose(refl[1:], [7.5e-6, 0.99999], atol=1e-7)
    np.testing.assert_array_equal(l8.reflectance_to_dn(refl), [0, 7273, 43636])
    kelvin = l8.temperature(np.array([0, 44000], dtype=np.uint16))
    assert np.isnan(kelvin[0]) and abs(kelvin[1] - (44000 * 0.00341802 + 149.0)) < 1e-3


def test_scaling_takes_a_scenes_scale_and_offset():
    dn = np.array([0, 10000, 20000], dtype=np.uint16)
    # 10000 * 1e-4 + 0.0 = 1.0; 20000 * 1e-4 = 2.0 (exact in float32 up to the scale's rounding)
    np.testing.assert_allclose(l8.reflectance(dn, 1e-4, 0.0)[1:], [1.0, 2.0], rtol=1e-7)
    assert np.isnan(l8.reflectance(dn, 1e-4, 0.0)[0])
    np.testing.assert_allclose(l8.temperature(dn, 0.01, 100.0)[1:], [200.0, 300.0], rtol=1e-7)
    # The defaults are the C2 constants, same operations: the same bytes.
    assert l8.reflectance(dn).tobytes() == l8.reflectance(dn, 2.75e-5, -0.2).tobytes()
    assert l8.temperature(dn).tobytes() == l8.temperature(dn, 0.00341802, 149.0).tobytes()


# SR_CLOUD_QA (Landsat 4-7, LSDS-1618), hand-made words:
#   0 nothing; 1 DDV; 2 cloud; 4 shadow; 8 adjacent to cloud; 16 snow; 32 water;
#   34 = 2 + 32 cloud over water; 12 = 4 + 8 shadow next to a cloud
CLOUD_QA = np.array([0, 1, 2, 4, 8, 16, 32, 34, 12], dtype=np.uint8)


def test_decode_sr_cloud_qa():
    qa = l8.decode_sr_cloud_qa(CLOUD_QA)
    f, t = False, True
    assert qa["ddv"].tolist() == [f, t, f, f, f, f, f, f, f]
    assert qa["cloud"].tolist() == [f, f, t, f, f, f, f, t, f]
    assert qa["shadow"].tolist() == [f, f, f, t, f, f, f, f, t]
    assert qa["adjacent_cloud"].tolist() == [f, f, f, f, t, f, f, f, t]
    assert qa["snow"].tolist() == [f, f, f, f, f, t, f, f, f]
    assert qa["water"].tolist() == [f, f, f, f, f, f, t, t, f]


def test_atmospheric_opacity_and_haze():
    dn = np.array([-9999, 0, 100, 300, 301, 3000], dtype=np.int16)
    opacity = l8.atmos_opacity(dn)
    assert opacity.dtype == np.float32 and np.isnan(opacity[0])
    np.testing.assert_allclose(opacity[1:], [0.0, 0.1, 0.3, 0.301, 3.0], rtol=1e-6)
    # above 0.3 is hazy: DN 300 (0.3) is not, 301 is; fill is not
    assert l8.hazy(opacity).tolist() == [False, False, False, False, True, True]


# SR_QA_AEROSOL (Landsat 8-9, LSDS-1619), hand-made words:
#   1 fill; 2 valid retrieval, climatology (level 0); 66 = 2 + 64 valid, low;
#   130 = 2 + 128 valid, medium; 194 = 2 + 192 valid, high; 4 water;
#   32 interpolated; 228 = 4 + 32 + 192 water, interpolated, high; 160 = 32 + 128
AEROSOL_QA = np.array([1, 2, 66, 130, 194, 4, 32, 228, 160], dtype=np.uint8)


def test_decode_sr_qa_aerosol():
    qa = l8.decode_sr_qa_aerosol(AEROSOL_QA)
    f, t = False, True
    assert qa["fill"].tolist() == [t, f, f, f, f, f, f, f, f]
    assert qa["valid_retrieval"].tolist() == [f, t, t, t, t, f, f, f, f]
    assert qa["water"].tolist() == [f, f, f, f, f, t, f, t, f]
    assert qa["interpolated"].tolist() == [f, f, f, f, f, f, t, t, t]
    assert qa["aerosol_level"].tolist() == [0, 0, 1, 2, 3, 0, 0, 3, 2]


def test_level2_qa_bands_by_sensor_family():
    assert l8.L2_QA_BANDS[l8.sensor_family("LE07")] == ("SR_CLOUD_QA", "SR_ATMOS_OPACITY")
    assert l8.L2_QA_BANDS[l8.sensor_family("LT05")] == ("SR_CLOUD_QA", "SR_ATMOS_OPACITY")
    assert l8.L2_QA_BANDS[l8.sensor_family("LC09")] == ("SR_QA_AEROSOL",)
