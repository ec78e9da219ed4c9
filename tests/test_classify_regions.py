"""Training regions from the config, and the spatially blocked folds."""

import numpy as np
import pytest

from agrifactory.classify.evaluation import block_folds, grouped_predictions
from agrifactory.classify.regions import region_names, tile_regions, tiles_frame
from agrifactory.errors import ConfigError
from agrifactory.grid import ALBERS

TWO_BY_TWO = ["h249v098", "h250v098", "h249v099", "h250v099"]


def test_single_region_holds_every_tile():
    assert tile_regions(TWO_BY_TWO, 15, "all") == dict.fromkeys(TWO_BY_TWO, "all")


def test_west_east_splits_the_tile_columns_in_the_middle():
    regions = tile_regions(TWO_BY_TWO, 15, "west_east")
    assert regions == {
        "h249v098": "west",
        "h250v098": "east",
        "h249v099": "west",
        "h250v099": "east",
    }
    assert region_names(regions) == ["west", "east"]
    # Three columns: the middle one (centre on the middle line) goes east.
    three = tile_regions(["h010v001", "h011v001", "h012v001"], 6, "west_east")
    assert three == {"h010v001": "west", "h011v001": "east", "h012v001": "east"}


def test_west_east_matches_the_demo_worlds_sub_regions():
    from agrifactory.grid import Tile
    from agrifactory.synthetic.world import WorldSpec

    tiles = tuple(Tile.from_id(t, 15) for t in TWO_BY_TWO)
    boundary = WorldSpec(tiles=tiles, year=2021, seed=1).east_boundary_x()
    regions = tile_regions(TWO_BY_TWO, 15, "west_east")
    for t in tiles:
        centre = (t.bounds[0] + t.bounds[2]) / 2
        assert regions[t.id] == ("east" if centre >= boundary else "west")


def test_a_mapping_must_cover_every_tile_once_with_valid_names():
    mapping = {"north": ["h249v098", "h250v098"], "south": ["h249v099", "h250v099", "h999v999"]}
    assert tile_regions(TWO_BY_TWO, 15, mapping)["h250v099"] == "south"
    with pytest.raises(ConfigError, match=r"tiles \['h250v099'\] .* are in no region"):
        tile_regions(TWO_BY_TWO, 15, {"a": TWO_BY_TWO[:3]})
    with pytest.raises(ConfigError, match="tile h249v098 is in regions 'a' and 'b'"):
        tile_regions(TWO_BY_TWO, 15, {"a": TWO_BY_TWO, "b": ["h249v098"]})
    with pytest.raises(ConfigError, match="region name '1st'"):
        tile_regions(TWO_BY_TWO, 15, {"1st": TWO_BY_TWO})
    with pytest.raises(ConfigError, match="expected 'all', 'west_east'"):
        tile_regions(TWO_BY_TWO, 15, "columns")


def test_tiles_frame_is_on_the_albers_lattice():
    frame = tiles_frame(TWO_BY_TWO, 15, tile_regions(TWO_BY_TWO, 15, "west_east"))
    assert frame.crs.equals(ALBERS)
    assert tuple(frame.geometry.iloc[0].bounds) == (735000.0, 4515000.0, 750000.0, 4530000.0)


def test_block_folds_keep_whole_blocks_and_spread_each_fold():
    folds = block_folds((8, 8), blocks=4, folds=4)
    expected_block_row = np.array([[0, 1, 2, 3], [1, 2, 3, 0], [2, 3, 0, 1], [3, 0, 1, 2]])
    np.testing.assert_array_equal(folds, np.kron(expected_block_row, np.ones((2, 2), int)))
    # Uneven sizes: every pixel gets a fold and blocks differ by at most one row/column.
    odd = block_folds((101, 100), blocks=4, folds=4)
    assert odd.shape == (101, 100) and set(np.unique(odd)) == {0, 1, 2, 3}
    with pytest.raises(ValueError):
        block_folds((3, 3), blocks=4)


def test_grouped_predictions_predict_the_only_training_class_when_a_fold_lacks_others():
    class Mean:
        def fit(self, X, y, seed=0):
            self.t = X[y == 1].mean()
            return self

        def predict(self, X):
            return (X[:, 0] >= self.t - 0.5).astype(int)

    X = np.array([[0.0], [0.0], [1.0], [1.0], [0.0], [0.0]])
    y = np.array([0, 0, 1, 1, 0, 0])
    fold = np.array([0, 0, 1, 1, 2, 2])
    pred, per_fold = grouped_predictions(Mean, X, y, fold)
    assert per_fold["constant"].tolist() == [False, True, False]
    np.testing.assert_array_equal(pred, [0, 0, 0, 0, 0, 0])
