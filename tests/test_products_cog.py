"""Every per-tile GeoTIFF the factory writes is a valid Cloud Optimized GeoTIFF
(rio-cogeo's validator, as ``rio cogeo validate``)."""

from __future__ import annotations

import pytest
from _checkers import require

pytestmark = pytest.mark.workflow


def test_every_tile_geotiff_is_a_valid_cog(demo_run):
    cogeo = require("rio_cogeo.cogeo", "rio-cogeo")
    tifs = sorted((demo_run / "results" / "tiles").rglob("*.tif"))
    assert tifs, "the test config's run wrote no per-tile GeoTIFF"
    invalid = {}
    for tif in tifs:
        valid, errors, _warnings = cogeo.cog_validate(str(tif), quiet=True)
        if not valid:
            invalid[str(tif.relative_to(demo_run))] = errors
    assert invalid == {}
