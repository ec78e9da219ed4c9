"""The demo world: deterministic, agronomically like the Chahannur basin, QA that tells the truth."""

import datetime as dt

import numpy as np
import pytest

from agrifactory import legend
from agrifactory.grid import Tile
from agrifactory.io import landsat as l8
from agrifactory.synthetic.landsat import plan_scenes, render_scene
from agrifactory.synthetic.samples import draw_samples
from agrifactory.synthetic.world import PHENOLOGY, WorldSpec, build_world

TILES = tuple(Tile(c, r, 6) for r in (245, 246) for c in (625, 626))


@pytest.fixture(scope="module")
def world():
    return build_world(WorldSpec(tiles=TILES, year=2021, seed=7, margin_km=2.1))


def _curve(name):
    vmin, vmax, t1, a1, t2, a2 = PHENOLOGY[name]
    t = np.arange(1, 366)
    return t, vmin + (vmax - vmin) * (
        1 / (1 + np.exp(-a1 * (t - t1))) - 1 / (1 + np.exp(-a2 * (t - t2)))
    )


@pytest.mark.parametrize("crop", ["potato", "sugar_beet", "sunflower"])
def test_irrigated_long_season_crops_peak_between_doy_211_and_237(crop):
    t, v = _curve(crop)
    assert 211 <= t[v.argmax()] <= 237 and v.max() > 0.7


def test_vegetables_rise_fast_peak_near_200_and_drop():
    t, v = _curve("vegetables")
    assert 190 <= t[v.argmax()] <= 210
    assert np.diff(v).max() > 2 * max(np.diff(_curve(c)[1]).max() for c in ("potato", "oat"))
    assert v[239] < v.max() - 0.4  # gone by DOY 240


@pytest.mark.parametrize("crop", ["oat", "wheat", "flax"])
def test_rainfed_crops_rise_slowly_and_peak_near_246_below_half(crop):
    t, v = _curve(crop)
    assert 236 <= t[v.argmax()] <= 256 and v.max() < 0.5


def test_world_is_deterministic(world):
    again = build_world(world.spec)
    np.testing.assert_array_equal(again.landcover, world.landcover)
    np.testing.assert_array_equal(again.ndvi(dt.date(2021, 7, 1)), world.ndvi(dt.date(2021, 7, 1)))
    other = build_world(WorldSpec(tiles=TILES, year=2021, seed=8, margin_km=2.1))
    assert (other.landcover != world.landcover).any()


def test_world_has_every_class_and_consistent_legends(world):
    assert set(np.unique(world.landcover)) == set(legend.LANDCOVER)
    crop = world.landcover == legend.code_of(legend.LANDCOVER, "cropland")
    assert (world.croptype[crop] > 0).all() and (world.croptype[~crop] == 0).all()
    irrigated = np.isin(
        world.croptype, [legend.code_of(legend.CROPTYPE, c) for c in legend.IRRIGATED_CROPS]
    )
    assert (world.irrigation[irrigated] == 1).all() and (
        world.irrigation[crop & ~irrigated] == 2
    ).all()
    assert 0.4 < crop.mean() < 0.8


def test_east_develops_later_by_the_configured_shift(world):
    t1 = world.params["t1"]
    crop = world.croptype == legend.code_of(legend.CROPTYPE, "potato")
    west, east = crop & (world.region == 0), crop & (world.region == 1)
    assert np.mean(t1[east]) - np.mean(t1[west]) == pytest.approx(12.0, abs=2.5)


def test_scene_qa_flags_the_thick_clouds_it_made(world):
    plans = plan_scenes(2021, dt.date(2021, 1, 5), 16, 40, (124, 31))
    assert all((b.date - a.date).days == 16 for a, b in zip(plans, plans[1:], strict=False))
    cloudy = []
    for p in plans[10:20]:
        bands = render_scene(world, p.date, p.product_id)
        qa = l8.decode_qa_pixel(bands["qa_pixel"])
        if qa["cloud"].mean() > 0.05:
            cloudy.append(p.product_id)
            # Flagged clouds are brighter than clear land in the blue band.
            assert (
                np.nanmean(bands["blue"][qa["cloud"]])
                > np.nanmean(bands["blue"][qa["clear"] & ~qa["water"]]) + 0.1
            )
    assert cloudy, "a summer of 10 scenes without a single cloudy one"


def test_samples_are_stratified_and_split(world):
    s = draw_samples(
        world,
        per_stratum={"potato": 20, "oat": 30, "grassland": 40},
        validation_fraction=0.3,
        n_outside=2,
    )
    inside = s.iloc[:-2]
    stratum = inside["croptype"].fillna(inside["landcover"])
    assert stratum.value_counts().to_dict() == {"grassland": 40, "oat": 30, "potato": 20}
    for _, group in inside.groupby("landcover"):
        assert abs((group["split"] == "validation").mean() - 0.3) < 0.05
    assert set(s["irrigation"].dropna()) <= {"irrigated", "rainfed"}
    assert s.crs.to_epsg() == 4326 and s["sample_id"].is_unique


def test_static_soil_drivers_alone_equal_those_of_the_whole_world(tmp_path):
    """Rule demo_soil_static writes the same elevation, sand and clay files as the
    year's world would (the land is drawn first), whatever the year."""
    from agrifactory.synthetic.soil_moisture import (
        STATIC_DRIVERS,
        write_soil_moisture_world,
        write_static_drivers,
    )

    bbox = (114.0, 41.5, 114.5, 42.0)
    small = {"bbox": bbox, "n_stations": 2, "n_source_stations": 1, "seed": 5}
    write_soil_moisture_world(tmp_path / "w", tmp_path / "t", year=2022, **small)
    written = write_static_drivers(tmp_path / "s", bbox=bbox, seed=5)
    assert sorted(written) == sorted(STATIC_DRIVERS)
    for name in STATIC_DRIVERS:
        whole = (tmp_path / "w" / "drivers" / f"{name}.tif").read_bytes()
        assert written[name].read_bytes() == whole, name
    absent = tmp_path / "y"
    write_soil_moisture_world(absent, tmp_path / "t2", year=2021, static=False, **small)
    assert not any((absent / "drivers" / f"{n}.tif").exists() for n in STATIC_DRIVERS)
