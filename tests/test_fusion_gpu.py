"""The CUDA back end: its kernels' arithmetic on the CPU (numba's CUDA simulator), and
NumPy vs CuPy on a real GPU when one is present."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest

from agrifactory.backend import gpu_available

# Runs in a fresh interpreter because numba reads NUMBA_ENABLE_CUDASIM at import.
SIMULATOR_SCRIPT = textwrap.dedent(
    """
    import numpy as np
    from agrifactory.fusion import estarfm, EstarfmParams, coarse_cell_labels
    from agrifactory.fusion.gpu import gpu_kernels

    def blocky(a, k):
        return np.repeat(np.repeat(a[..., ::k, ::k], k, -2), k, -1)[..., :a.shape[-2], :a.shape[-1]].copy()

    rng = np.random.default_rng(5)
    for nb, layout in ((1, "reference"), (2, "halo")):
        land = rng.integers(0, 3, (9, 8))
        base = np.stack([np.choose(land, [900.0, 2500.0, 4000.0]) + 200 * b for b in range(nb)])
        f1 = base + rng.normal(0, 100, base.shape)
        f2 = 1.2 * base + 300 + rng.normal(0, 100, base.shape)
        c1, c2 = blocky(f1, 3) + 20, blocky(f2, 3) - 20
        c0 = blocky(1.1 * base + 200, 3)
        c0[:, 0:3, 3:6] = np.nan
        f1[:, 4, 4] = np.nan
        p = EstarfmParams(half_window=2, classes=2.0, block_size=5, layout=layout)
        cells = coarse_cell_labels(c1, c2, c0)
        cpu = [estarfm.fuse(f1, c1, f2, c2, c0, p),
               estarfm.predict(estarfm.prepare(f1, c1, f2, c2, p, coarse_cells=cells), c0)]
        estarfm._kernel_set = lambda xp: gpu_kernels()  # CUDA kernels on NumPy arrays
        gpu = [estarfm.fuse(f1, c1, f2, c2, c0, p),
               estarfm.predict(estarfm.prepare(f1, c1, f2, c2, p, coarse_cells=cells), c0)]
        estarfm._kernel_set = lambda xp: estarfm.CPU_KERNELS
        for (a, qa), (b, qb) in zip(cpu, gpu):
            assert (qa == qb).all(), (qa, qb)
            assert len(set(qa.ravel().tolist())) >= 3, qa
            np.testing.assert_allclose(b, a, rtol=1e-12, equal_nan=True)
    print("SIMULATOR OK")
    """
)


def test_cuda_kernels_match_the_cpu_kernels_in_the_simulator(repo_root):
    env = {**os.environ, "NUMBA_ENABLE_CUDASIM": "1", "PYTHONPATH": str(repo_root / "src")}
    done = subprocess.run(
        [sys.executable, "-c", SIMULATOR_SCRIPT],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert "SIMULATOR OK" in done.stdout


def test_importing_fusion_loads_neither_cupy_nor_numba_cuda(repo_root):
    code = (
        "import sys, agrifactory.fusion, agrifactory.fusion.cli; "
        "print('cupy' in sys.modules, 'numba.cuda' in sys.modules)"
    )
    env = {**os.environ, "PYTHONPATH": str(repo_root / "src")}
    out = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True
    )
    assert out.stdout.split() == ["False", "False"]


@pytest.mark.gpu
@pytest.mark.skipif(not gpu_available(), reason="needs CuPy and a CUDA device")
def test_numpy_and_cupy_back_ends_agree():
    import cupy

    from agrifactory.fusion import EstarfmParams, coarse_cell_labels, fuse, predict, prepare

    rng = np.random.default_rng(11)
    land = rng.integers(0, 4, (120, 110))
    base = np.choose(land, [0.2, 0.45, 0.7, 0.85]).astype(np.float32)
    f1 = np.clip(base + rng.normal(0, 0.03, base.shape), -1, 1).astype(np.float32)
    f2 = np.clip(base + 0.1 + rng.normal(0, 0.03, base.shape), -1, 1).astype(np.float32)
    blocky = lambda a: np.repeat(np.repeat(a[::8, ::8], 8, 0), 8, 1)[:120, :110]  # noqa: E731
    c1, c2, c0 = blocky(f1), blocky(f2), blocky(np.clip(base + 0.05, -1, 1))
    c0[:16, :16] = np.nan
    params = EstarfmParams.ndvi(half_window=10, block_size=50)
    cpu = fuse(f1, c1, f2, c2, c0, params)
    gpu = fuse(*(cupy.asarray(a) for a in (f1, c1, f2, c2, c0)), params)
    assert isinstance(gpu[0], cupy.ndarray)
    np.testing.assert_array_equal(cupy.asnumpy(gpu[1]), cpu[1])
    np.testing.assert_allclose(cupy.asnumpy(gpu[0]), cpu[0], rtol=1e-5, atol=1e-7)
    cells = coarse_cell_labels(c1, c2, c0)
    model = prepare(
        *(cupy.asarray(a) for a in (f1, c1, f2, c2)), params, coarse_cells=cupy.asarray(cells)
    )
    pred, qa = predict(model, cupy.asarray(c0))
    np.testing.assert_array_equal(cupy.asnumpy(qa), cpu[1])
    np.testing.assert_allclose(cupy.asnumpy(pred), cpu[0], rtol=1e-5, atol=1e-7)


PTX_SCRIPT = textwrap.dedent(
    """
    import sys, types
    import numba.cuda.dispatcher as dispatcher
    from numba import cuda
    from numba import types as t
    # Device functions ask the (absent) GPU for its compute capability: name one.
    dispatcher.get_current_device = lambda: types.SimpleNamespace(compute_capability=(9, 0))
    from agrifactory.fusion import gpu

    a1, a2, a3 = t.int64[::1], t.float64[:, ::1], t.float64[:, :, ::1]
    f3, f4, i2 = t.float32[:, :, ::1], t.float32[:, :, :, ::1], t.int32[:, ::1]
    body = (a1, a1, a1, a1, a3, a3, f3, f4, a3, t.uint8[:, ::1], a2, t.int64,
            t.float64, t.float64, t.int64, t.float64[::1], i2, t.boolean, i2, a2,
            t.int32[::1], t.int32[:, ::1], t.float64[:, :, :, ::1])
    kernels = {
        "scan_rows": (gpu.scan_rows_kernel, (t.int64, t.int64) + body),
        "scan_pixels": (gpu.scan_pixels_kernel, (a1, a1) + body),
        "cell_sums": (gpu.cell_sums_kernel, (a1, t.int64[::1], t.int32[::1], t.float32[::1], a2,
                                             t.uint8[::1], t.boolean, a2, t.uint8[::1])),
        "combine": (gpu.combine_kernel, (a3, t.int32[::1], a3, a2, a2, a2, a2, t.uint8[::1],
                                         t.float64, t.float64, t.int64, t.float32[:, ::1],
                                         t.uint8[:, ::1])),
    }
    for name, (kernel, sig) in kernels.items():
        ptx, _ = cuda.compile_ptx(kernel.py_func, sig, cc=(9, 0))
        open(f"{sys.argv[1]}/{name}.ptx", "w").write(ptx)
    print("PTX OK")
    """
)


def _cuda_home() -> str | None:
    from pathlib import Path

    for key in ("CUDA_HOME", "CUDA_PATH"):
        if os.environ.get(key):
            return os.environ[key]
    found = sorted(Path("/usr/local").glob("cuda*/nvvm/libdevice"))
    return str(found[-1].parents[1]) if found else None


def test_cuda_kernels_compile_for_hopper(repo_root, tmp_path):
    # numba turns the kernels into PTX with the CUDA toolkit's NVVM, and ptxas (when
    # present) assembles them for sm_90: the kernels compile without a GPU.
    home = _cuda_home()
    if home is None:
        pytest.skip("no CUDA toolkit (NVVM, libdevice) on this machine")
    env = {**os.environ, "CUDA_HOME": home, "PYTHONPATH": str(repo_root / "src")}
    env.pop("NUMBA_ENABLE_CUDASIM", None)
    done = subprocess.run(
        [sys.executable, "-c", PTX_SCRIPT, str(tmp_path)],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    if done.returncode != 0 and any(
        k in done.stderr for k in ("NvvmSupportError", "libNVVM", "libdevice")
    ):
        pytest.skip(f"numba cannot load NVVM from {home}")
    assert done.returncode == 0, done.stderr[-3000:]
    ptxas = os.path.join(home, "bin", "ptxas")
    if os.path.exists(ptxas):
        for ptx in tmp_path.glob("*.ptx"):
            out = subprocess.run([ptxas, "-arch=sm_90", str(ptx), "-o", str(ptx.with_suffix(".cubin"))],
                                 capture_output=True, text=True)  # fmt: skip
            assert out.returncode == 0, out.stderr
