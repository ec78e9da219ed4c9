"""Training sets: exclusions reported by name, typos and grid/year mismatches stopped."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from affine import Affine
from shapely.geometry import Point, box

from agrifactory.classify.base import select_features
from agrifactory.classify.legend import CROPLAND, CROPTYPE
from agrifactory.classify.training import (
    FeatureStack,
    build_training_set,
    encode_labels,
    read_feature_stack,
)
from agrifactory.errors import ConfigError, DataError, GridError
from agrifactory.grid import ALBERS
from agrifactory.io.raster import write_raster

NAMES = ("ndvi_max", "ndvi_mean")
LABELS = {"cropland": CROPLAND, "croptype": CROPTYPE}


def _tiles():
    return gpd.GeoDataFrame(
        {"tile_id": ["h000v000", "h001v000"], "region": ["west", "east"]},
        geometry=[box(0, 0, 300, 300), box(300, 0, 600, 300)],
        crs=ALBERS,
    )


def _stack(tid, x0, year=2020, names=NAMES, crs=ALBERS, res=30.0):
    n = int(300 / res)
    data = np.stack(
        [np.full((n, n), 0.5 + 0.01 * k, np.float32) + x0 / 1e4 for k in range(len(names))]
    )
    data[:, 0, 0] = np.nan  # a cloudy pixel in the upper-left corner
    return FeatureStack(tid, data, tuple(names), Affine(res, 0, x0, 0, -res, 300), crs, year)


def _samples(rows):
    return gpd.GeoDataFrame(
        pd.DataFrame(rows, columns=["sample_id", "x", "y", "cropland", "croptype"]),
        geometry=[Point(r[1], r[2]) for r in rows],
        crs=ALBERS,
    )


def _base_rows(n=6):
    rows = []
    for i in range(n):
        rows.append((f"w{i}", 20 + 40 * i, 100, "cropland", "wheat"))
        rows.append((f"e{i}", 320 + 40 * i, 100, "other", None))
    return rows


def test_builds_table_and_reports_every_exclusion():
    rows = _base_rows() + [
        ("outside", 900, 100, "cropland", "wheat"),  # outside every tile
        ("cloud", 10, 290, "cropland", "wheat"),  # NaN features (pixel 0, 0)
        ("alien", 50, 50, "cropland", "banana"),  # unknown label, far from every crop
        ("lonely", 60, 60, "cropland", "flax"),  # a class below min_count
    ]
    stacks = {"h000v000": _stack("h000v000", 0), "h001v000": _stack("h001v000", 300)}
    ts = build_training_set(_samples(rows), _tiles(), stacks, LABELS, year=2020, min_count=3)
    ex = ts.excluded.set_index("sample_id")
    assert ex.loc["outside", "reason"] == "outside every tile"
    assert "no feature data" in ex.loc["cloud", "reason"]
    assert ex.loc["alien", "label_column"] == "croptype"
    assert "unknown label 'banana'" in ex.loc["alien", "reason"]
    assert ex.loc["lonely", "reason"] == "class 'flax' has 1 samples < min_count 3"
    assert set(ex.index) == {"outside", "cloud", "alien", "lonely"}

    table = ts.table.set_index("sample_id")
    assert "outside" not in table.index and "cloud" not in table.index
    # 'alien' keeps its cropland label, loses its crop type
    assert table.loc["alien", "cropland"] == 1 and pd.isna(table.loc["alien", "croptype"])
    assert table.loc["w0", "croptype"] == CROPTYPE["wheat"]
    assert table.loc["e0", "region"] == "east" and table.loc["e0", "tile_id"] == "h001v000"
    assert table.loc["e1", "ndvi_max"] == pytest.approx(0.5 + 300 / 1e4)
    X, y = ts.rows("croptype")
    assert list(X.columns) == list(NAMES) and set(y) == {CROPTYPE["wheat"]}


def test_point_on_shared_edge_belongs_to_one_tile():
    rows = _base_rows() + [("edge", 300, 100, "cropland", "wheat")]
    stacks = {"h000v000": _stack("h000v000", 0), "h001v000": _stack("h001v000", 300)}
    ts = build_training_set(_samples(rows), _tiles(), stacks, LABELS, min_count=1)
    assert ts.table.set_index("sample_id").loc["edge", "tile_id"] == "h001v000"


def test_label_typo_suggests_the_closest_label():
    rows = _base_rows() + [
        ("t1", 30, 30, "cropland", "whaet"),
        ("t2", 40, 40, "cropland", "sugarbeet"),
    ]
    stacks = {"h000v000": _stack("h000v000", 0), "h001v000": _stack("h001v000", 300)}
    with pytest.raises(DataError) as err:
        build_training_set(_samples(rows), _tiles(), stacks, LABELS, min_count=1)
    msg = str(err.value)
    assert "'whaet' (1 samples): did you mean 'wheat'?" in msg
    assert "'sugarbeet' (1 samples): did you mean 'sugar_beet'?" in msg


def test_labels_are_normalised_and_codes_accepted():
    values = pd.Series(["Sugar beet", " WHEAT ", "6", None, ""])
    codes, unknown = encode_labels(values, CROPTYPE, "croptype")
    assert codes.tolist()[:3] == [2, 6, 6]
    assert codes.isna().tolist() == [False, False, False, True, True]
    assert not unknown.any()


def test_features_of_another_year_are_an_error():
    stacks = {"h000v000": _stack("h000v000", 0, year=2019), "h001v000": _stack("h001v000", 300)}
    with pytest.raises(GridError, match="features are for year 2019, expected 2020"):
        build_training_set(_samples(_base_rows()), _tiles(), stacks, LABELS, year=2020, min_count=1)


def test_samples_of_another_year_are_an_error():
    samples = _samples(_base_rows()).assign(year=2020)
    samples.loc[0, "year"] = 2018
    stacks = {"h000v000": _stack("h000v000", 0), "h001v000": _stack("h001v000", 300)}
    with pytest.raises(
        GridError, match=r"1 samples are for years \[2018\] but the features are for 2020"
    ):
        build_training_set(samples, _tiles(), stacks, LABELS, year=2020, min_count=1)


def test_features_on_another_grid_are_an_error():
    shifted = FeatureStack(
        "h001v000",
        _stack("h001v000", 300).data,
        NAMES,
        Affine(30, 0, 330, 0, -30, 300),
        ALBERS,
        2020,
        "features_h001v000.tif",
    )
    stacks = {"h000v000": _stack("h000v000", 0), "h001v000": shifted}
    with pytest.raises(GridError, match="features_h001v000.tif: feature grid bounds"):
        build_training_set(_samples(_base_rows()), _tiles(), stacks, LABELS, min_count=1)
    other_crs = _stack("h001v000", 300, crs="EPSG:32650")
    stacks = {"h000v000": _stack("h000v000", 0), "h001v000": other_crs}
    with pytest.raises(GridError, match="features must be on the tile grid"):
        build_training_set(_samples(_base_rows()), _tiles(), stacks, LABELS, min_count=1)


def test_feature_names_must_agree_across_tiles():
    stacks = {
        "h000v000": _stack("h000v000", 0),
        "h001v000": _stack("h001v000", 300, names=("ndvi_max", "ndvi_min")),
    }
    with pytest.raises(GridError, match="feature names differ"):
        build_training_set(_samples(_base_rows()), _tiles(), stacks, LABELS, min_count=1)


def test_missing_label_column_and_duplicate_ids():
    stacks = {"h000v000": _stack("h000v000", 0), "h001v000": _stack("h001v000", 300)}
    with pytest.raises(ConfigError, match=r"lacks columns \['irrigation'\]"):
        build_training_set(
            _samples(_base_rows()), _tiles(), stacks, {"irrigation": {"a": 1, "b": 2}}, min_count=1
        )
    rows = _base_rows() + [("w0", 30, 30, "cropland", "wheat")]
    with pytest.raises(DataError, match=r"not unique: \['w0'\]"):
        build_training_set(_samples(rows), _tiles(), stacks, LABELS, min_count=1)


def test_samples_in_lonlat_are_reprojected():
    stacks = {"h000v000": _stack("h000v000", 0), "h001v000": _stack("h001v000", 300)}
    samples = _samples(_base_rows()).to_crs("EPSG:4326")
    ts = build_training_set(samples, _tiles(), stacks, LABELS, min_count=1)
    assert len(ts.table) == 12 and ts.excluded.empty


def test_read_feature_stack_from_a_cog(tmp_path):
    path = tmp_path / "features.tif"
    stack = _stack("h000v000", 0)
    write_raster(
        path,
        stack.data,
        transform=stack.transform,
        crs=ALBERS,
        nodata=np.nan,
        band_names=list(NAMES),
        tags={"year": 2020},
    )
    read = read_feature_stack(path, "h000v000", year=2020)
    assert read.feature_names == NAMES and read.year == 2020
    with pytest.raises(GridError, match="year 2020, expected 2021"):
        read_feature_stack(path, "h000v000", year=2021)


def test_select_features_by_pattern():
    cols = ["ndvi_01", "ndvi_02", "sos", "eos", "amp"]
    assert select_features(cols, ["ndvi_*", "sos"]) == ["ndvi_01", "ndvi_02", "sos"]
    with pytest.raises(ConfigError, match=r"\['lst_\*'\] match no feature"):
        select_features(cols, ["lst_*"])
