"""Collection 2 QA_PIXEL / QA_RADSAT decoding and the QA part of the quality mask.

The values are QA_PIXEL codes found in Landsat 8-9 Collection 2 Level-2 products.
Bits (LSDS-1619): 0 fill, 1 dilated cloud, 2 cirrus, 3 cloud, 4 cloud shadow,
5 snow, 6 clear (= no cloud and no dilated cloud), 7 water, 8-9 cloud confidence,
10-11 shadow confidence, 12-13 snow confidence, 14-15 cirrus confidence
(confidence 1 = low, 3 = high). Each value is decomposed by hand below.
"""

from __future__ import annotations

import numpy as np
import pytest

from agrifactory.io.landsat import band_number, decode_qa_pixel, saturated
from agrifactory.quality import masks

# 21824 = 16384 + 4096 + 1024 + 256 + 64 -> bits 14, 12, 10, 8, 6:
#   clear; cloud, shadow, snow and cirrus confidence all low (01).
CLEAR_LAND = 21824
# 21952 = 21824 + 128 -> clear land's bits plus bit 7: clear water.
CLEAR_WATER = 21952
# 1 -> bit 0 only: fill.
FILL = 1
# 22280 = 16384 + 4096 + 1024 + 512 + 256 + 8 -> bits 14, 12, 10, 9, 8, 3:
#   cloud, cloud confidence 11 (high), the others low; clear bit unset.
CLOUD_HIGH = 22280
# 23888 = 16384 + 4096 + 2048 + 1024 + 256 + 64 + 16 -> bits 14, 12, 11, 10, 8, 6, 4:
#   cloud shadow, shadow confidence 11 (high); the clear bit IS set (no cloud).
SHADOW = 23888
# 30048 = 16384 + 8192 + 4096 + 1024 + 256 + 64 + 32 -> bits 14, 13, 12, 10, 8, 6, 5:
#   snow, snow confidence 11 (high); clear bit set.
SNOW = 30048
# 21762 = 16384 + 4096 + 1024 + 256 + 2 -> bits 14, 12, 10, 8, 1: dilated cloud, not clear.
DILATED = 21762
# 54596 = 32768 + 16384 + 4096 + 1024 + 256 + 64 + 4 -> bits 15, 14, 12, 10, 8, 6, 2:
#   cirrus, cirrus confidence 11 (high); clear bit set (cirrus does not clear it).
CIRRUS = 54596
# 55052 = 32768 + 16384 + 4096 + 1024 + 512 + 256 + 8 + 4 -> bits 15, 14, 12, 10, 9, 8, 3, 2:
#   cloud (high confidence) and cirrus (high confidence).
CLOUD_AND_CIRRUS = 55052

CODES = np.array(
    [CLEAR_LAND, CLEAR_WATER, FILL, CLOUD_HIGH, SHADOW, SNOW, DILATED, CIRRUS, CLOUD_AND_CIRRUS],
    dtype=np.uint16,
)


def test_hand_decomposition_matches_the_integers():
    # The comments above, as arithmetic.
    assert CLEAR_LAND == 2**14 + 2**12 + 2**10 + 2**8 + 2**6
    assert CLEAR_WATER == CLEAR_LAND + 2**7
    assert CLOUD_HIGH == 2**14 + 2**12 + 2**10 + 2**9 + 2**8 + 2**3
    assert SHADOW == 2**14 + 2**12 + 2**11 + 2**10 + 2**8 + 2**6 + 2**4
    assert SNOW == 2**14 + 2**13 + 2**12 + 2**10 + 2**8 + 2**6 + 2**5
    assert DILATED == 2**14 + 2**12 + 2**10 + 2**8 + 2**1
    assert CIRRUS == 2**15 + 2**14 + 2**12 + 2**10 + 2**8 + 2**6 + 2**2
    assert CLOUD_AND_CIRRUS == 2**15 + 2**14 + 2**12 + 2**10 + 2**9 + 2**8 + 2**3 + 2**2


def test_decode_qa_pixel_flags():
    d = decode_qa_pixel(CODES)
    #                       land   water  fill   cloud  shadow snow   dilat  cirrus c+ci
    expect = {
        "fill": [0, 0, 1, 0, 0, 0, 0, 0, 0],
        "cloud": [0, 0, 0, 1, 0, 0, 1, 1, 1],
        "dilated_cloud": [0, 0, 0, 0, 0, 0, 1, 0, 0],
        "cirrus": [0, 0, 0, 0, 0, 0, 0, 1, 1],
        "shadow": [0, 0, 0, 0, 1, 0, 0, 0, 0],
        "snow": [0, 0, 0, 0, 0, 1, 0, 0, 0],
        "clear": [1, 1, 0, 0, 1, 1, 0, 1, 0],
        "water": [0, 1, 0, 0, 0, 0, 0, 0, 0],
    }
    for name, values in expect.items():
        np.testing.assert_array_equal(d[name], np.array(values, bool), err_msg=name)


def test_decode_qa_pixel_confidences():
    d = decode_qa_pixel(CODES)
    np.testing.assert_array_equal(d["cloud_conf"], [1, 1, 0, 3, 1, 1, 1, 1, 3])
    np.testing.assert_array_equal(d["shadow_conf"], [1, 1, 0, 1, 3, 1, 1, 1, 1])
    np.testing.assert_array_equal(d["snow_conf"], [1, 1, 0, 1, 1, 3, 1, 1, 1])
    np.testing.assert_array_equal(d["cirrus_conf"], [1, 1, 0, 1, 1, 1, 1, 3, 3])


def test_quality_mask_qa_classes():
    got = masks.qa_classes(CODES)
    c, s, n, f = masks.QA_CLOUD, masks.QA_SHADOW, masks.QA_SNOW, masks.FILL
    # Clear land and clear water are 0; the "clear" bit of shadow and snow is ignored.
    np.testing.assert_array_equal(got, [0, 0, f, c, s, n, c, c, c])
    np.testing.assert_array_equal(masks.qa_water(CODES), [0, 1, 0, 0, 0, 0, 0, 0, 0])


def test_fill_pixels_carry_only_the_fill_bit():
    # A fill pixel with stray bits set is still only "fill" in the quality mask.
    assert masks.qa_classes(np.array([FILL | 8 | 16], np.uint16))[0] == masks.FILL


def test_radsat_bits_and_band_numbers():
    # QA_RADSAT bit (band - 1): 0b1000 = band 4 saturated; 0b100000000000 (bit 11) is OLI's
    # terrain occlusion, not a reflective band.
    radsat = np.array([0, 0b1000, 0b100000000000, 0b1], np.uint16)
    np.testing.assert_array_equal(saturated(radsat, [4]), [0, 1, 0, 0])
    np.testing.assert_array_equal(
        masks.saturation_test(radsat, (1, 2, 3, 4, 5, 6, 7)), [0, 1, 0, 1]
    )
    assert band_number("SR_B4") == 4
    assert band_number("ST_B10") == 10


@pytest.mark.parametrize("code", [int(v) for v in CODES])
def test_decode_is_elementwise(code):
    # Decoding a 2-D array gives the same flags as decoding its values one by one.
    grid = np.full((2, 3), code, np.uint16)
    np.testing.assert_array_equal(masks.qa_classes(grid), masks.qa_classes(np.uint16(code)))
