"""``agrifactory fuse`` end to end on small files."""

from __future__ import annotations

import numba
import numpy as np
import pytest
import rasterio
from affine import Affine

from agrifactory.cli import main
from agrifactory.fusion import QA_WEIGHTED, EstarfmParams, fuse

numba.set_num_threads(1)

TRANSFORM = Affine(30.0, 0.0, 500000.0, 0.0, -30.0, 4000000.0)
CRS = "EPSG:32650"


def _images(seed=0):
    rng = np.random.default_rng(seed)
    land = rng.integers(0, 3, (2, 14, 12))
    base = np.choose(land, [900, 2500, 4000]).astype(np.float64)
    f1 = base + rng.normal(0, 100, base.shape)
    f2 = 1.2 * base + 300 + rng.normal(0, 100, base.shape)
    blocky = lambda a: np.repeat(np.repeat(a[:, ::4, ::4], 4, 1), 4, 2)[:, :14, :12]  # noqa: E731
    return [
        np.round(a).astype(np.int16) for a in (f1, blocky(f1), f2, blocky(f2), blocky(1.1 * base))
    ]


def _write(path, data, driver="GTiff", transform=TRANSFORM, crs=CRS):
    with rasterio.open(path, "w", driver=driver, width=data.shape[2], height=data.shape[1],
                       count=data.shape[0], dtype=data.dtype, transform=transform, crs=crs) as dst:  # fmt: skip
        dst.write(data)
    return str(path)


ARGS = ["--half-window", "3", "--classes", "2", "--block-size", "6", "--layout", "reference"]


@pytest.mark.parametrize("driver", ["GTiff", "ENVI"])
def test_fuse_command_writes_the_prediction_with_the_inputs_grid(tmp_path, driver):
    images = _images()
    paths = [_write(tmp_path / f"in{i}.{'tif' if driver == 'GTiff' else 'img'}", a, driver)
             for i, a in enumerate(images)]  # fmt: skip
    out, qa_path = tmp_path / "out.tif", tmp_path / "qa.tif"
    assert (
        main(["fuse", *paths, "--out", str(out), "--qa", str(qa_path), *ARGS, "--backend", "numpy"])
        == 0
    )
    expected, expected_qa = fuse(
        *images, EstarfmParams(half_window=3, classes=2, block_size=6, layout="reference")
    )
    with rasterio.open(out) as src:
        assert src.dtypes == ("float32", "float32")
        assert src.transform == TRANSFORM and src.crs.to_epsg() == 32650
        np.testing.assert_array_equal(src.read(), expected)
    with rasterio.open(qa_path) as src:
        qa = src.read()
        np.testing.assert_array_equal(qa, expected_qa)
        assert (qa == QA_WEIGHTED).any()


def test_grid_mismatch_names_the_file(tmp_path, capsys):
    images = _images()
    paths = [_write(tmp_path / f"in{i}.tif", a) for i, a in enumerate(images)]
    shifted = TRANSFORM @ Affine.translation(1, 0)
    paths[3] = _write(tmp_path / "shifted.tif", images[3], transform=shifted)
    assert main(["fuse", *paths, "--out", str(tmp_path / "o.tif")]) == 2
    err = capsys.readouterr().err
    assert "shifted.tif (C2 (coarse, date 2)) is not on the grid of" in err
    assert "transform" in err and not (tmp_path / "o.tif").exists()


def test_size_mismatch_and_missing_file(tmp_path, capsys):
    images = _images()
    paths = [_write(tmp_path / f"in{i}.tif", a) for i, a in enumerate(images)]
    paths[4] = _write(tmp_path / "small.tif", images[4][:, :10])
    assert main(["fuse", *paths, "--out", str(tmp_path / "o.tif")]) == 2
    assert "small.tif (C0 (coarse, target date))" in capsys.readouterr().err
    paths[4] = str(tmp_path / "nope.tif")
    assert main(["fuse", *paths, "--out", str(tmp_path / "o.tif")]) == 2
    assert "nope.tif: file not found" in capsys.readouterr().err
