"""The `stac_services` fixture: a real STAC API (stac-fastapi-pgstac on PostgreSQL +
PostGIS) and nginx serving COGs, started once per session and stopped by PID.

Where the services cannot start (Debian packages or the ``stac-server`` extra
missing) the tests that use it skip with the reason; with
``AGRIFACTORY_REQUIRE_SERVICES=1`` (set by .ci/run) they fail instead.
"""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

from agrifactory.testing.stac_services import ServicesUnavailable, StacServices


@pytest.fixture(scope="session")
def stac_services(tmp_path_factory) -> Iterator[StacServices]:
    """Running services; nginx serves ``stac_services.cog_root`` (write files there)."""
    services = StacServices(tmp_path_factory.mktemp("served"))
    try:
        services.start()
    except ServicesUnavailable as exc:
        if os.environ.get("AGRIFACTORY_REQUIRE_SERVICES") == "1":
            pytest.fail(f"AGRIFACTORY_REQUIRE_SERVICES=1 but the STAC services cannot start: {exc}")
        pytest.skip(f"local STAC services cannot start: {exc}")
    yield services
    services.stop()
