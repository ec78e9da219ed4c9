"""MODIS C6.1 QA: MOD09Q1 sur_refl_qc_250m and MOD13 SummaryQA / DetailedQA, bit by bit."""

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from agrifactory.io import modis_qa as mq

# MOD09Q1 words built by hand:
#   12288 = 4096 (atmospheric correction) + 8192 (adjacency correction): ideal, clear
#   7289  = 1 (modland 1) + 8 (cloud state 2 = mixed) + 112 (band 1 quality 7 = noisy
#           detector) + 3072 (band 2 quality 12 = internal constant) + 4096 (atm. corr.)
#   4083  = 3 (modland 3) + 240 (band 1 quality 15) + 3840 (band 2 quality 15): fill-like
#   12300 = 12288 + 12 (cloud state 3 = not set, assumed clear)
QC_WORDS = np.array([12288, 7289, 4083, 12300], dtype=np.uint16)


def test_mod09q1_fields_of_hand_made_words():
    f = mq.decode_mod09q1_qc(QC_WORDS)
    assert f["modland"].tolist() == [0, 1, 3, 0]
    assert f["cloud_state"].tolist() == [0, 2, 0, 3]
    assert f["band1_quality"].tolist() == [0, 7, 15, 0]
    assert f["band2_quality"].tolist() == [0, 12, 15, 0]
    assert f["atmospheric_correction"].tolist() == [1, 1, 0, 1]
    assert f["adjacency_correction"].tolist() == [1, 0, 0, 1]
    assert all(v.dtype == np.uint8 for v in f.values())


def test_signed_words_are_read_bit_for_bit():
    # int16 -32768 is 0x8000: only bit 15 (shadow in DetailedQA).
    f = mq.decode_mod13_detailed_qa(np.array([-32768], dtype=np.int16))
    assert f["shadow"].tolist() == [1]
    assert sum(int(v[0]) for v in f.values()) == 1
    with pytest.raises(TypeError, match="integers"):
        mq.bit_field(np.array([1.0]), 0, 2)


def test_mod09q1_ndvi_masks_each_rule():
    red = np.array([500, 500, 500, 500, -28672, 500, 500, 500, -100, -50, 16001], np.int16)
    nir = np.array([3500, 3500, 3500, 3500, 3500, 3500, 3500, 3500, -50, 1000, 3500], np.int16)
    qc = np.array(
        [
            12288,  # ideal, clear: kept
            12300,  # cloud state 3 (assumed clear): kept
            12289,  # modland 1 (less than ideal): kept
            12292,  # cloud state 1 (cloudy): masked
            12288,  # red is fill: masked
            12288 + (8 << 8),  # band 2 quality 8 (dead detector): masked
            8192,  # no atmospheric correction: masked
            12290,  # modland 2 (not produced, cloud): masked
            12288,  # red + NIR < 0: masked
            12288,  # NDVI (1000 + 50) / 950 > 1: masked
            12288,  # red above the valid range 16000: masked
        ],
        np.uint16,
    )
    ndvi = mq.mod09q1_ndvi(red, nir, qc)
    assert ndvi.dtype == np.float32
    # (3500 - 500) / (3500 + 500) = 0.75
    np.testing.assert_array_equal(ndvi[:3], np.float32([0.75, 0.75, 0.75]))
    assert np.isnan(ndvi[3:]).all()
    good = mq.mod09q1_good(red, nir, qc)
    assert good.tolist() == [True] * 3 + [False] * 5 + [True, True, False]
    assert not mq.mod09q1_good(red[3:8], nir[3:8], qc[3:8]).any()  # a whole bad date


# Real MOD13A1 DetailedQA values of the phenofit sites (tests/test_realdata_phenofit.py):
#   2112  = 2048 + 64: vi_quality 0, usefulness 0, aerosol 1 (low), land 1 (SummaryQA 0)
#   2062  = 2048 + 8 + 4 + 2: vi_quality 2 (probably cloudy), usefulness 0b0011 = 3,
#           land 1 (SummaryQA 3)
#   18449 = 16384 + 2048 + 16 + 1 (AT-Neu, 2000-03-05, SummaryQA 2): vi_quality 1,
#           usefulness (18449 >> 2) & 15 = 4, aerosol 0, land 1, snow/ice 1
#   35097 = 32768 + 2048 + 256 + 16 + 8 + 1 (CH-Oe2, 2000-11-16): vi_quality 1,
#           usefulness 0b0110 = 6, adjacent cloud 1, land 1, shadow 1
#   53533 = 32768 + 16384 + 4096 + 256 + 16 + 8 + 4 + 1: vi_quality 1, usefulness 7,
#           adjacent cloud 1, land_water 0b010 = 2 (coastline / shoreline), snow 1, shadow 1
#   1536  = 512 + 1024: BRDF correction 1, mixed clouds 1, land_water 0 (shallow ocean)
DETAILED = np.array([2112, 2062, 18449, 35097, 53533, 1536], dtype=np.uint16)


def test_mod13_detailed_qa_fields_of_real_values():
    f = mq.decode_mod13_detailed_qa(DETAILED)
    assert f["vi_quality"].tolist() == [0, 2, 1, 1, 1, 0]
    assert f["vi_usefulness"].tolist() == [0, 3, 4, 6, 7, 0]
    assert f["aerosol"].tolist() == [1, 0, 0, 0, 0, 0]
    assert f["adjacent_cloud"].tolist() == [0, 0, 0, 1, 1, 0]
    assert f["brdf_correction"].tolist() == [0, 0, 0, 0, 0, 1]
    assert f["mixed_clouds"].tolist() == [0, 0, 0, 0, 0, 1]
    assert f["land_water"].tolist() == [1, 1, 1, 1, 2, 0]
    assert f["snow_ice"].tolist() == [0, 0, 1, 0, 1, 0]
    assert f["shadow"].tolist() == [0, 0, 0, 1, 1, 0]


def test_mod13_ndvi_scales_and_masks():
    dn = np.array([5000, 5000, 5000, 5000, -3000, -2001, 10001, -2000, 10000, np.nan])
    rel = np.array([0, 1, 2, 3, 0, 0, 0, 0, 0, 0])
    out = mq.mod13_ndvi(dn, rel)
    assert out.dtype == np.float32
    np.testing.assert_array_equal(out[[0, 1, 7, 8]], np.float32([0.5, 0.5, -0.2, 1.0]))
    assert np.isnan(out[[2, 3, 4, 5, 6, 9]]).all()
    # accept picks the reliability codes; a NaN code (missing record) is never accepted.
    np.testing.assert_array_equal(
        mq.mod13_ndvi(np.array([5000, 5000, 5000]), np.array([0, 2, np.nan]), accept=(2,)),
        np.float32([np.nan, 0.5, np.nan]),
    )


def test_encode_rejects_unknown_fields_and_overflow():
    assert mq.encode({"cloud_state": 3, "modland": 1}, mq.MOD09Q1_QC_FIELDS).tolist() == 13
    with pytest.raises(ValueError, match="unknown QA fields"):
        mq.encode({"cloud": 1}, mq.MOD09Q1_QC_FIELDS)
    with pytest.raises(ValueError, match="cloud_state must be in 0..3"):
        mq.encode({"cloud_state": 4}, mq.MOD09Q1_QC_FIELDS)


words = hnp.arrays(np.uint16, st.integers(1, 20))


@given(words)
def test_mod13_decode_then_encode_gives_the_word_back(w):
    back = mq.encode(mq.decode_mod13_detailed_qa(w), mq.MOD13_DETAILED_QA_FIELDS)
    np.testing.assert_array_equal(back, w)


@given(words)
def test_mod09q1_decode_then_encode_gives_the_decoded_bits_back(w):
    # Bits 14-15 are not decoded: the round trip keeps bits 0-13.
    back = mq.encode(mq.decode_mod09q1_qc(w), mq.MOD09Q1_QC_FIELDS)
    np.testing.assert_array_equal(back, w & 0x3FFF)


@given(
    hnp.arrays(np.float64, 12, elements=st.floats(-4000, 11000) | st.just(np.nan)),
    hnp.arrays(np.int64, 12, elements=st.integers(-1, 3)),
)
def test_mod13_masking_never_turns_nan_into_a_number(dn, rel):
    out = mq.mod13_ndvi(dn, rel)
    assert np.isnan(out[np.isnan(dn)]).all()
    kept = ~np.isnan(out)
    np.testing.assert_array_equal(out[kept], (dn[kept] * 1e-4).astype(np.float32))
    assert np.isin(rel[kept], (0, 1)).all()


@given(
    hnp.arrays(np.int16, 12),
    hnp.arrays(np.int16, 12),
    hnp.arrays(np.uint16, 12),
)
def test_mod09q1_ndvi_is_nan_or_in_range_and_only_where_good(red, nir, qc):
    ndvi = mq.mod09q1_ndvi(red, nir, qc)
    kept = ~np.isnan(ndvi)
    assert (np.abs(ndvi[kept]) <= 1.0).all()
    assert mq.mod09q1_good(red, nir, qc)[kept].all()
