"""Held-out validation on a lattice, and validation-only pair sets prepared where compared.

On the synthetic tile-year of ``test_fusion_blocks`` every held-out pair set is used
by the validation only, so ``fuse_tile`` prepares it on the pixels where its scene
is compared; the tables must equal those from pair sets prepared everywhere.
"""

from __future__ import annotations

import numba
import numpy as np
import pytest
from rasterio.windows import Window
from test_fusion_blocks import (  # noqa: F401
    HELD_OUT,
    _check_against_reference,
    _fuse,
    _pair_for,
    tile,
)

from agrifactory.errors import ConfigError
from agrifactory.fusion import EstarfmParams
from agrifactory.fusion import tile as tile_module
from agrifactory.fusion.rules import FillSettings, FusionSettings
from agrifactory.io.modis import composite_starts

numba.set_num_threads(1)

PARAMS = EstarfmParams.ndvi(half_window=3, block_size=12)
FILL = FillSettings(min_points=3, window=2)
OUTPUTS = ("ndvi", "flags", "qa", "validation", "validation_flags")


def _bytes(root):
    return {k: (root / f"{k}.{'tif' if k in ('ndvi', 'flags') else 'csv'}").read_bytes()
            for k in OUTPUTS}  # fmt: skip


def test_lattice_by_hand():
    """Rows and columns counted from the tile's corner: a core at row 3, column 1 keeps
    its local rows 1, 3 and columns 1, 3, 5 with stride 2; stride 1 keeps everything;
    stride 3 at column 4 keeps tile columns 6 and 9 (local 2 and 5)."""
    values = np.arange(30, dtype=np.float32).reshape(5, 6)
    core = Window(col_off=1, row_off=3, width=6, height=5)
    out = tile_module._lattice(values, core, 2)
    kept = np.argwhere(np.isfinite(out))
    assert [tuple(k) for k in kept] == [(r, c) for r in (1, 3) for c in (1, 3, 5)]
    np.testing.assert_array_equal(out[1::2, 1::2], values[1::2, 1::2])
    assert tile_module._lattice(values, core, 1) is values
    out3 = tile_module._lattice(values, Window(col_off=4, row_off=0, width=6, height=5), 3)
    assert [tuple(k) for k in np.argwhere(np.isfinite(out3))] == [(0, 2), (0, 5), (3, 2), (3, 5)]


def test_the_synthetic_tile_has_validation_only_pair_sets():
    targets = {p for t in composite_starts(2021) if (p := _pair_for(t)) and None not in p}
    held = {p for by in HELD_OUT.values() for p in by.values() if p}
    assert held and not held & targets


@pytest.mark.parametrize("stride", [1, 2])
def test_prepared_where_compared_equals_prepared_everywhere(tile, tmp_path, monkeypatch, stride):  # noqa: F811
    """Byte for byte, every output, whether validation-only pair sets and the
    single-pair models scan only the needed centres or every pixel."""
    kwargs = {"tile_block": 24, "fill": FILL, "validation_stride": stride}
    _fuse(tile, tmp_path / "centres", PARAMS, **kwargs)
    real = tile_module.prepare

    def everywhere(*args, centres=None, **kw):
        return real(*args, **kw)

    monkeypatch.setattr(tile_module, "prepare", everywhere)
    _fuse(tile, tmp_path / "everywhere", PARAMS, **kwargs)
    assert _bytes(tmp_path / "centres") == _bytes(tmp_path / "everywhere")


def test_the_product_does_not_depend_on_the_stride(tile, tmp_path):  # noqa: F811
    for stride in (1, 2, 5):
        _fuse(tile, tmp_path / str(stride), PARAMS, tile_block=24, fill=FILL,
              validation_stride=stride)  # fmt: skip
    one = _bytes(tmp_path / "1")
    for stride in (2, 5):
        other = _bytes(tmp_path / str(stride))
        for k in ("ndvi", "flags", "qa"):
            assert other[k] == one[k], (stride, k)
        assert other["validation"] != one["validation"]


def test_stride_compares_only_the_lattice(tile, tmp_path):  # noqa: F811
    """Blocks of 20 px (core offsets 20, 40, 60: not multiples of 3) give the whole
    image's validation on every third row and column from the tile's corner."""
    params = EstarfmParams.ndvi(half_window=3, block_size=12, layout="halo")
    _check_against_reference(tile, tmp_path, params, tile_block=20, validation_stride=3)


def test_validation_flags_on_the_lattice(tile, tmp_path):  # noqa: F811
    """Per flag class the stride-2 table counts about a quarter of the stride-1 pixels."""
    import pandas as pd

    for stride in (1, 2):
        _fuse(tile, tmp_path / str(stride), PARAMS, tile_block=24, fill=FILL,
              validation_stride=stride)  # fmt: skip
    one = pd.read_csv(tmp_path / "1" / "validation_flags.csv")
    two = pd.read_csv(tmp_path / "2" / "validation_flags.csv")
    assert (two["n"] <= one["n"]).all()
    assert two["n"].sum() == pytest.approx(one["n"].sum() / 4, rel=0.15)


def test_validation_stride_setting():
    assert FusionSettings().validation_stride == 2
    assert FusionSettings.build({"validation_stride": 1}, "fusion").validation_stride == 1
    with pytest.raises(ConfigError, match="validation_stride"):
        FusionSettings.build({"validation_stride": 0}, "fusion")
