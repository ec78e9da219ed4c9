"""Array back ends: NumPy always, CuPy when installed and a device is present.

Public compute functions take NumPy or CuPy arrays and return the same kind. They
look the namespace up with :func:`array_namespace`; nothing here imports CuPy at
package import time.
"""

from __future__ import annotations

import importlib
from functools import cache
from types import ModuleType
from typing import Any, Literal, get_args

import numpy as np

#: Back-end names a config may give: ``auto`` uses CuPy when a GPU is usable.
Backend = Literal["auto", "numpy", "cupy"]
BACKENDS: tuple[str, ...] = get_args(Backend)


@cache
def cupy_module() -> ModuleType | None:
    """Return the ``cupy`` module if it imports and sees a CUDA device, else None."""
    try:
        cupy = importlib.import_module("cupy")
        if cupy.cuda.runtime.getDeviceCount() < 1:
            return None
    except Exception:  # ImportError, CUDA driver errors: no usable GPU
        return None
    return cupy


def gpu_available() -> bool:
    """True when CuPy imports and at least one CUDA device is visible."""
    return cupy_module() is not None


def is_cupy_array(x: Any) -> bool:
    """True for a CuPy ndarray, without importing CuPy when it is not loaded."""
    return type(x).__module__.split(".")[0] == "cupy"


def array_namespace(*arrays: Any) -> ModuleType:
    """The array module (``numpy`` or ``cupy``) of the given arrays.

    Raises
    ------
    TypeError
        If NumPy and CuPy arrays are mixed: data never move between host and
        device silently.
    """
    kinds = {is_cupy_array(a) for a in arrays if a is not None and not np.isscalar(a)}
    if kinds == {True}:
        return importlib.import_module("cupy")
    if kinds == {True, False}:
        raise TypeError(
            "NumPy and CuPy arrays were mixed in one call; move all inputs to one "
            "device first (cupy.asarray or cupy.asnumpy)"
        )
    return np


def to_numpy(x: Any) -> np.ndarray:
    """Copy a CuPy array to the host; return a NumPy array unchanged."""
    if is_cupy_array(x):
        return x.get()
    return np.asarray(x)


def resolve_backend(name: str) -> ModuleType:
    """Map a configured back-end name (``auto``, ``numpy``, ``cupy``) to a module.

    ``auto`` picks CuPy when a GPU is usable and NumPy otherwise; ``cupy`` without
    a usable GPU is an error rather than a silent fallback.
    """
    if name == "numpy":
        return np
    cupy = cupy_module()
    if name == "cupy":
        if cupy is None:
            from agrifactory.errors import ConfigError

            raise ConfigError(
                "back end 'cupy' was requested but CuPy is not installed or sees no "
                "CUDA device; install the 'gpu' extra on a GPU machine or use 'auto'"
            )
        return cupy
    if name == "auto":
        return cupy if cupy is not None else np
    raise _unknown_backend(name)


def _unknown_backend(name: str) -> Exception:
    from agrifactory.errors import ConfigError

    return ConfigError(f"unknown array back end {name!r}; expected auto, numpy or cupy")


def job_backend(configured: str, gpus_granted: int) -> str:
    """The back-end name a workflow job uses, given the GPUs its scheduler granted it.

    A job granted no GPU (``resources: gpu=0``, e.g. on a cluster without GPUs)
    runs NumPy under ``auto``; ``cupy`` there is an error naming the remedy, since
    the job would otherwise share or miss a device it was not given.
    """
    if configured not in BACKENDS:
        raise _unknown_backend(configured)
    if gpus_granted > 0 or configured == "numpy":
        return configured
    if configured == "cupy":
        from agrifactory.errors import ConfigError

        raise ConfigError(
            "back end 'cupy' was configured but this job was granted no GPU "
            "(resources gpu=0); set the back end to 'auto' or grant the run a GPU"
        )
    return "numpy"
