"""Block features of the integration stage on hand-made tiles (exact values by hand)."""

from __future__ import annotations

import numpy as np
import pytest

from agrifactory.errors import ConfigError
from agrifactory.grid import PixelGrid
from agrifactory.integration import blocks as bl

#: A 4 x 4 px tile of 30 m cut into 2 x 2 blocks of 2 px.
GRID = PixelGrid(x_min=3000.0, y_max=9000.0, res=30.0, width=4, height=4)


@pytest.fixture
def lattice() -> bl.BlockLattice:
    return bl.BlockLattice(GRID, 2)


def test_block_means_leave_nan_out(lattice):
    values = np.array(
        [
            [1.0, 2.0, np.nan, np.nan],
            [3.0, np.nan, np.nan, np.nan],
            [0.0, 0.0, 1.0, 1.0],
            [0.0, 4.0, 1.0, 0.0],
        ]
    )
    out = lattice.mean(values)
    assert out[0, 0] == pytest.approx(2.0)  # (1 + 2 + 3) / 3
    assert np.isnan(out[0, 1])  # no pixel with a value: NaN, not 0
    assert out[1, 0] == pytest.approx(1.0)
    assert out[1, 1] == pytest.approx(0.75)


def test_block_frame_ids_and_lattice_indices(lattice):
    frame = lattice.frame("h001v002", origin=(0.0, 9060.0))
    assert frame["block_id"].tolist() == [
        "h001v002_r00c00",
        "h001v002_r00c01",
        "h001v002_r01c00",
        "h001v002_r01c01",
    ]
    # Blocks are 60 m: x 3000 is block column 50 from the origin, y 9000 is row 1.
    assert frame["bx"].tolist() == [50, 51, 50, 51]
    assert frame["by"].tolist() == [1, 1, 2, 2]
    assert frame["x"].tolist() == [3030.0, 3090.0, 3030.0, 3090.0]
    assert frame["y"].tolist() == [8970.0, 8970.0, 8910.0, 8910.0]


def test_a_block_size_that_does_not_divide_the_tile_is_refused():
    with pytest.raises(ConfigError, match="integration.block_m"):
        bl.BlockLattice(GRID, 3)


def test_binary_entropy_by_hand():
    h = bl.binary_entropy(np.array([0.0, 0.5, 1.0, 0.25, np.nan]))
    assert h[:3].tolist() == [0.0, 1.0, 0.0]
    assert h[3] == pytest.approx(-(0.25 * np.log2(0.25) + 0.75 * np.log2(0.75)))
    assert np.isnan(h[4])


def test_edge_pixels_by_hand():
    classes = np.array([[0, 0, 1], [0, 0, 1], [1, 1, 1]], dtype=np.uint8)
    valid = np.ones(classes.shape, dtype=bool)
    edges = bl.edge_pixels(classes, valid)
    expected = np.array([[0, 1, 0], [1, 1, 0], [0, 0, np.nan]])
    # The last pixel has no right or lower neighbour: nothing to compare, NaN.
    np.testing.assert_array_equal(edges, expected)


def test_consistency_features_by_hand(lattice):
    factory = np.array(
        [[1, 1, 0, 0], [1, 0, 0, 0], [1, 1, 255, 255], [1, 1, 255, 255]], dtype=np.uint8
    )
    proba = np.where(factory == 1, 0.9, 0.2)
    wc = np.array(
        [
            [1.0, 1.0, 0.0, 0.0],
            [0.2, 0.0, 0.6, 0.0],
            [np.nan, np.nan, 1.0, 1.0],
            [np.nan, np.nan, 1.0, 1.0],
        ]
    )
    f = bl.consistency_features(lattice, factory, proba, {"wc": wc})
    assert f["factory_fraction"][0, 0] == pytest.approx(0.75)
    assert f["factory_fraction"][0, 1] == 0.0
    assert np.isnan(f["factory_fraction"][1, 1])  # the factory has no data there
    # Block (0, 0): wc says crop, crop, not (0.2), not; the factory crop, crop, crop, not.
    assert f["agree_wc"][0, 0] == pytest.approx(0.75)
    assert f["frac_wc"][0, 0] == pytest.approx((1 + 1 + 0.2 + 0) / 4)
    assert f["agree_wc"][0, 1] == pytest.approx(0.75)  # 0.6 >= 0.5 is cropland
    # Block (1, 0): the product covers nothing there: NaN features, never zero.
    assert np.isnan(f["agree_wc"][1, 0]) and np.isnan(f["frac_wc"][1, 0])
    assert f["cover_wc"][1, 0] == 0.0 and f["cover_wc"][0, 0] == 1.0
    h9 = bl.binary_entropy(np.array([0.9]))[0]
    h2 = bl.binary_entropy(np.array([0.2]))[0]
    assert f["entropy"][0, 0] == pytest.approx((3 * h9 + h2) / 4)


def test_flag_shares_by_hand(lattice):
    flags = np.zeros((2, 4, 4), dtype=np.uint8)
    flags[0] = 1
    flags[1, :2, :2] = 4
    flags[1, 2:, :] = 9  # a code without a name
    out = bl.flag_shares(lattice, flags, {0: "invalid", 1: "weighted", 4: "single_pair"})
    assert out["flag_weighted"][0, 0] == 0.5 and out["flag_single_pair"][0, 0] == 0.5
    assert out["flag_weighted"][0, 1] == 0.5 and out["flag_invalid"][0, 1] == 0.5
    assert out["flag_other"][1, 0] == 0.5 and out["flag_other"][0, 0] == 0.0


def test_slope_of_a_plane():
    # Rising 30 m per 1500 m cell to the east: atan(0.02).
    elevation = np.tile(np.arange(4) * 30.0, (3, 1))
    slope = bl.slope_degrees(elevation, 1500.0)
    np.testing.assert_allclose(slope, np.degrees(np.arctan(0.02)))


def test_feature_groups():
    assert bl.group_of("flag_weighted") == "iqa"
    assert bl.group_of("clear_obs") == "iqa"
    assert bl.group_of("elevation") == "geography"
    assert bl.group_of("province") == "region"
    assert bl.group_of("agree_clcd") == "consistency"
    assert bl.group_of("factory_fraction") == "consistency"
