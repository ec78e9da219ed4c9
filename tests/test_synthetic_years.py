"""The demo world's years: the base year as before, another year rotated, shifted, cloudier."""

import datetime as dt
import hashlib
from dataclasses import replace

import geopandas as gpd
import numpy as np
import pytest
from _jobs import fake_job
from pyproj import Transformer

from agrifactory import legend
from agrifactory.config import DemoWorldSettings
from agrifactory.errors import ConfigError
from agrifactory.grid import Tile
from agrifactory.io import landsat as l8
from agrifactory.synthetic import demo
from agrifactory.synthetic import rules as demo_rules
from agrifactory.synthetic.landsat import render_scene
from agrifactory.synthetic.samples import draw_samples, year_samples
from agrifactory.synthetic.world import (
    BASE_CLOUD_MIXTURE,
    CROP_SHARES,
    PHENOLOGY,
    REGIONS,
    WorldSpec,
    build_world,
    cloud_mixture,
)

SPEC = WorldSpec(tiles=(Tile(625, 245, 6),), year=2021, seed=7, margin_km=0.6)
# SHA-256 (first 16 hex digits) of the arrays' bytes and dtype, computed on SPEC with the
# generator before the years existed (main at 69cc178), on this repository's numpy.
OLD_SHA = {
    "landcover": "b00818aa7879cd40",
    "croptype": "089da8f5addd599e",
    "irrigation": "c487dde072f027f7",
    "field_id": "873389730dc9ddae",
    "brightness": "06a8d5f35509f6a5",
    "params_t1": "b0e860b4b240b733",
    "params_vmax": "7a27cb2b4d00d285",
    "params_texture": "4a4ea0575a477e26",
    "ndvi_0701": "6fe511502796cd6e",
    "scene0713_qa_pixel": "70cc3b6d541a4f8e",
    "scene0713_red": "55622812ef92fdc6",
    "scene0105_qa_pixel": "82baee3f7f104384",
}
# The same for the sample table without its new year column (ids, labels, split, points).
OLD_SAMPLES_SHA = "b96873d257cdb91d"
ARRAYS = ("landcover", "croptype", "irrigation", "field_id", "elevation", "region", "brightness")


def _sha(a):
    a = np.ascontiguousarray(a)
    return hashlib.sha256(a.tobytes() + str(a.dtype).encode()).hexdigest()[:16]


def _samples_sha(s):
    t = s.drop(columns=["geometry", "year"]).assign(
        x=s.geometry.x.round(7), y=s.geometry.y.round(7)
    )
    return hashlib.sha256(t.to_csv(index=False).encode()).hexdigest()[:16]


@pytest.fixture(scope="module")
def base():
    return build_world(SPEC)


@pytest.fixture(scope="module")
def other():
    return build_world(replace(SPEC, year=2022))


def _field_crops(world):
    """Crop code per cropland field id (0 for fields without cropland)."""
    crop = world.croptype > 0
    out = np.zeros(int(world.field_id.max()) + 1, np.uint8)
    out[world.field_id[crop]] = world.croptype[crop]
    return out


def test_base_year_is_byte_identical_to_the_generator_before(base):
    got = {k: _sha(getattr(base, k)) for k in ("landcover", "croptype", "irrigation")}
    got |= {k: _sha(getattr(base, k)) for k in ("field_id", "brightness")}
    got |= {f"params_{k}": _sha(base.params[k]) for k in ("t1", "vmax", "texture")}
    got["ndvi_0701"] = _sha(base.ndvi(dt.date(2021, 7, 1)))
    for d in (dt.date(2021, 7, 13), dt.date(2021, 1, 5)):
        bands = render_scene(base, d, f"scene{d:%Y%m%d}")
        got[f"scene{d:%m%d}_qa_pixel"] = _sha(bands["qa_pixel"])
        if d.month == 7:
            got[f"scene{d:%m%d}_red"] = _sha(np.nan_to_num(bands["red"]))
    assert got == OLD_SHA
    assert base.greenup_shift == {"west": 0, "east": 0}


def test_world_without_a_year_is_the_base_year(base):
    land = build_world(replace(SPEC, year=None))
    for k in ARRAYS:
        np.testing.assert_array_equal(getattr(land, k), getattr(base, k))
    for k, v in base.params.items():
        np.testing.assert_array_equal(land.params[k], v)
    assert land.effects == base.effects


def test_another_year_keeps_the_land_and_rotates_crops_within_irrigation(base, other):
    for k in ("landcover", "irrigation", "field_id", "elevation", "region", "brightness"):
        np.testing.assert_array_equal(getattr(other, k), getattr(base, k))
    np.testing.assert_array_equal(other.croptype > 0, base.croptype > 0)
    before, after = _field_crops(base), _field_crops(other)
    fields = np.flatnonzero(before)
    changed = before[fields] != after[fields]
    assert 0.30 <= changed.mean() <= 0.50, changed.mean()  # rotation_share 0.4
    irrigated = [legend.code_of(legend.CROPTYPE, c) for c in legend.IRRIGATED_CROPS]
    assert (np.isin(before[fields], irrigated) == np.isin(after[fields], irrigated)).all()
    crop = base.croptype > 0
    assert set(np.unique(other.irrigation[crop])) == {1, 2}


def test_year_crop_shares_differ_from_the_base_and_sum_to_one(other):
    shares = other.effects.crop_shares
    assert list(shares) == list(CROP_SHARES)
    assert sum(shares.values()) == pytest.approx(1.0)
    assert shares != CROP_SHARES


@pytest.mark.parametrize("year", [2020, 2022, 2023, 2030])
def test_green_up_shifts_have_magnitudes_in_range_and_a_sign(year):
    world = build_world(replace(SPEC, year=year))
    assert set(world.greenup_shift) == set(REGIONS)
    assert all(8 <= abs(s) <= 15 for s in world.greenup_shift.values())
    assert all(isinstance(s, int) for s in world.greenup_shift.values())


def test_ndvi_of_an_unchanged_field_is_the_base_ndvi_at_the_shifted_date(base, other):
    date = dt.date(2022, 7, 1)
    unchanged = _field_crops(base) == _field_crops(other)
    crop = (base.croptype > 0) & unchanged[base.field_id]
    ndvi = other.ndvi(date)
    for code, region in enumerate(REGIONS):
        shift = other.greenup_shift[region]
        sel = crop & (base.region == code)
        assert sel.sum() > 100
        earlier = dt.date(2021, 7, 1) - dt.timedelta(days=shift)
        np.testing.assert_allclose(ndvi[sel], base.ndvi(earlier)[sel], rtol=0, atol=1e-6)
        assert not np.allclose(ndvi[sel], base.ndvi(dt.date(2021, 7, 1))[sel], atol=1e-3)


def test_rotated_fields_follow_their_new_crops_curve(base, other):
    changed = _field_crops(base) != _field_crops(other)
    sel = (base.croptype > 0) & changed[base.field_id]
    assert sel.any()
    vmin = np.array(
        [PHENOLOGY[legend.CROPTYPE[c]][0] if c else 0 for c in sorted(legend.CROPTYPE)],
        np.float32,
    )
    np.testing.assert_array_equal(other.params["vmin"][sel], vmin[other.croptype[sel]])


def test_cloud_mixture_depends_on_the_month_only_outside_the_base_year(base, other):
    assert {base.cloud_mixture(dt.date(2021, m, 15)) for m in range(1, 13)} == {BASE_CLOUD_MIXTURE}
    wet_month = other.effects.wet_month
    assert 6 <= wet_month <= 8
    season = SPEC.cloud_season
    for m in range(1, 13):
        expected = season.wet if abs(m - wet_month) <= 1 else season.dry
        assert other.cloud_mixture(dt.date(2022, m, 15)) == expected
    assert season.wet[2] + season.wet[3] > season.dry[2] + season.dry[3]


def test_wet_season_wraps_around_the_new_year():
    assert cloud_mixture(SPEC, 12, 1) == SPEC.cloud_season.wet
    assert cloud_mixture(SPEC, 1, 12) == SPEC.cloud_season.wet
    assert cloud_mixture(SPEC, 1, 3) == SPEC.cloud_season.dry
    assert cloud_mixture(SPEC, None, 7) == BASE_CLOUD_MIXTURE


def _cloud_share(world, dates):
    return np.mean(
        [l8.bit(render_scene(world, d, f"k{d:%Y%m%d}")["qa_pixel"], 3).mean() for d in dates]
    )


def test_scenes_of_the_wet_season_are_cloudier_in_another_year(other):
    wet = other.effects.wet_month
    dry = 4 if wet >= 7 else 10  # two months or more away, no snow
    wet_dates = [dt.date(2022, wet, 1) + dt.timedelta(days=i) for i in range(0, 28, 2)]
    dry_dates = [dt.date(2022, dry, 1) + dt.timedelta(days=i) for i in range(0, 28, 2)]
    assert _cloud_share(other, wet_dates) > 2 * _cloud_share(other, dry_dates)


def test_samples_of_the_base_year_are_todays_and_validation_year_is_validation_only(base, other):
    samples = year_samples(replace(SPEC, year=None), [2021], [2022])
    first = samples[samples["year"] == 2021].reset_index(drop=True)
    today = draw_samples(base)
    assert _samples_sha(first) == OLD_SAMPLES_SHA
    assert first.drop(columns="geometry").equals(today.drop(columns="geometry"))
    assert first.geometry.equals(today.geometry)
    assert first["sample_id"].str.fullmatch(r"S\d{5}").all()

    later = samples[samples["year"] == 2022]
    assert (later["split"] == "validation").all()
    assert later["sample_id"].str.fullmatch(r"V2022-\d{5}").all()
    assert samples["sample_id"].is_unique
    assert set(samples["year"]) == {2021, 2022}
    n_val = int((first["split"] == "validation").sum())
    assert abs(len(later) - n_val) <= 0.1 * n_val
    assert set(later["landcover"]) == set(legend.LANDCOVER.values())
    # Labels are the 2022 world's crops at the points.
    to_albers = Transformer.from_crs("EPSG:4326", other.grid.crs, always_xy=True)
    x, y = to_albers.transform(later.geometry.x.to_numpy(), later.geometry.y.to_numpy())
    col = ((x - other.grid.x_min) // other.grid.res).astype(int)
    row = ((other.grid.y_max - y) // other.grid.res).astype(int)
    truth = [legend.CROPTYPE[v] if v else "" for v in other.croptype[row, col]]
    assert later["croptype"].fillna("").tolist() == truth


def test_another_label_year_has_both_splits_and_its_own_ids():
    samples = year_samples(SPEC, [2021, 2023], [])
    later = samples[samples["year"] == 2023]
    assert set(later["split"]) == {"train", "validation"}
    assert later["sample_id"].str.fullmatch(r"L2023-\d{5}").all()
    assert samples["sample_id"].is_unique


def test_settings_defaults_reach_the_world_spec():
    cfg = DemoWorldSettings().model_dump(mode="json")
    spec = demo.world_spec(cfg, SPEC.tiles, 2022, 7)
    assert spec.base_year == 2021 and spec.greenup_shift_days == (8, 15)
    assert spec.rotation_share == 0.4 and spec.cloud_season == SPEC.cloud_season
    assert demo.sample_years(cfg) == ([2021], [2022])
    partial = demo.world_spec({"margin_km": 0.6, "phenology_shift_days": 12}, SPEC.tiles, None, 7)
    assert replace(partial, year=2021) == SPEC


@pytest.mark.parametrize(
    ("values", "problem"),
    [
        ({"greenup_shift_days": [15, 8]}, "min exceeds max"),
        ({"validation_years": [2021]}, "both in label_years and in validation_years"),
        ({"cloud_season": {"dry": [0.5, 0.5, 0.5, 0.0]}}, "must sum to 1"),
        ({"rotation_share": 1.5}, "rotation_share"),
    ],
)
def test_bad_year_settings_are_refused(values, problem):
    with pytest.raises(ConfigError, match=problem):
        DemoWorldSettings.build(values, "demo_world")


def test_demo_samples_rule_writes_the_years_of_the_demo_world_section(tmp_path):
    cfg = {"margin_km": 0.6, "phenology_shift_days": 12, "validation_fraction": 0.3}
    world = {"tiles": [SPEC.tiles[0].id], "tile_km": 6, "seed": 7, "demo_world": cfg}
    out = tmp_path / "samples.gpkg"
    job = fake_job(
        input={}, output={"samples": out}, params={"world": world}, log=tmp_path / "s.log"
    )
    demo_rules.demo_samples(job)
    written = gpd.read_file(out, layer="samples")
    assert sorted(set(written["year"])) == [2021, 2022]  # base year, default validation year
    first = written[written["year"] == 2021].reset_index(drop=True)
    assert _samples_sha(first) == OLD_SAMPLES_SHA
