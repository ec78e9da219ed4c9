"""Which array back end a workflow job uses, given the GPUs it was granted."""

import pytest

from agrifactory.backend import job_backend
from agrifactory.errors import ConfigError


@pytest.mark.parametrize(
    ("configured", "granted", "expected"),
    [
        ("auto", 1, "auto"),  # resolve_backend then picks CuPy only where it sees a GPU
        ("auto", 0, "numpy"),
        ("numpy", 1, "numpy"),
        ("numpy", 0, "numpy"),
        ("cupy", 1, "cupy"),
    ],
)
def test_job_backend(configured, granted, expected):
    assert job_backend(configured, granted) == expected


def test_cupy_without_a_granted_gpu_is_a_config_error():
    with pytest.raises(ConfigError, match="granted no GPU.*'auto'"):
        job_backend("cupy", 0)


def test_unknown_backend_is_named():
    with pytest.raises(ConfigError, match="'jax'"):
        job_backend("jax", 1)
