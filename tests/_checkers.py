"""Import the field's product checkers (IOOS compliance-checker, rio-cogeo) or skip.

They are test-only dependencies; where one is not installed the tests that need it
skip with the reason, and with ``AGRIFACTORY_REQUIRE_SERVICES=1`` (set by .ci/run)
they fail instead.
"""

from __future__ import annotations

import importlib
import os
from types import ModuleType

import pytest


def require(module: str, package: str) -> ModuleType:
    """Import ``module`` (from the PyPI ``package``), or skip (fail where required)."""
    try:
        return importlib.import_module(module)
    except ImportError as exc:
        reason = f"{package} is not installed ({exc}); pip install {package}"
        if os.environ.get("AGRIFACTORY_REQUIRE_SERVICES") == "1":
            pytest.fail(f"AGRIFACTORY_REQUIRE_SERVICES=1 but {reason}")
        pytest.skip(reason)
