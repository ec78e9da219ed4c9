"""Monthly median composites on hand-made stacks: medians, gap rule, flags, QA, band names."""

import datetime as dt
import logging

import numpy as np
import pandas as pd
import pytest
from _jobs import fake_job

from agrifactory.errors import InputError
from agrifactory.grid import PixelGrid
from agrifactory.io.raster import read_raster, write_grid_raster
from agrifactory.timeseries import rules
from agrifactory.timeseries.composites import (
    INTERPOLATED,
    MONTHLY_BANDS,
    NO_CLEAR_SCENE,
    NO_SCENE,
    OBSERVED,
    QA_COLUMNS,
    REFLECTANCE_BANDS,
    UNFILLED,
    composites_tile,
    count_band_names,
    fill_single_gaps,
    monthly_band_names,
    monthly_medians,
    observation_indices,
    season_months,
)
from agrifactory.timeseries.rules import COMPOSITES_OUTPUTS

GRID = PixelGrid(x_min=0.0, y_max=3000.0, res=30.0, width=2, height=1)
# The bands other than red are the same in every observation.
FIXED = {"blue": 0.05, "green": 0.08, "nir": 0.4, "swir1": 0.2, "swir2": 0.1}
A, B = 0, 1  # the two pixels (columns)


def ndvi(red):
    return (0.4 - red) / (0.4 + red)


# (date, red at A and B, clear at A and B). Dates outside 2021 are the ingest's margin.
OBS = [
    (dt.date(2020, 12, 20), (0.9, 0.9), (True, True)),
    (dt.date(2021, 1, 5), (0.10, 0.10), (True, True)),
    (dt.date(2021, 1, 21), (0.20, 0.30), (True, True)),
    (dt.date(2021, 2, 6), (0.25, 0.25), (False, True)),  # A cloudy: Feb empty at A
    (dt.date(2021, 3, 10), (0.30, 0.30), (True, True)),
    (dt.date(2021, 3, 26), (0.05, 0.05), (False, False)),  # masked by the ingest (NDVI NaN)
    # April and May: no scene (two empty months)
    (dt.date(2021, 6, 14), (0.12, 0.12), (True, True)),
    (dt.date(2021, 7, 16), (0.08, 0.08), (True, True)),
    (dt.date(2021, 8, 17), (0.06, 0.06), (True, True)),
    (dt.date(2021, 9, 2), (0.07, 0.07), (False, False)),  # a scene with no clear pixel
    (dt.date(2021, 10, 4), (0.10, 0.10), (True, True)),
    # November and December: no scene
    (dt.date(2022, 1, 4), (0.9, 0.9), (True, True)),
]


def _write_stacks(root, obs=OBS, ingest_masked=(dt.date(2021, 3, 26),)):
    """The ingest stacks and the quality mask of ``obs`` on GRID; their paths."""
    names = [d.isoformat() for d, _, _ in obs]
    red = np.array([[r] for _, r, _ in obs], np.float32)  # (dates, 1, 2)
    clear = np.array([[c] for _, _, c in obs])
    paths = {}
    for band in REFLECTANCE_BANDS:
        data = red if band == "red" else np.full(red.shape, FIXED[band], np.float32)
        paths[f"landsat_{band}"] = write_grid_raster(
            root / f"landsat_{band}.tif", data, GRID, nodata=np.nan, band_names=names
        )
    masked = np.array([d in ingest_masked for d, _, _ in obs])[:, None, None]
    landsat_ndvi = np.where(masked, np.nan, ndvi(red)).astype(np.float32)
    paths["landsat_ndvi"] = write_grid_raster(
        root / "landsat_ndvi.tif", landsat_ndvi, GRID, nodata=np.nan, band_names=names
    )
    mask = np.where(clear | masked, 0, 4).astype(np.uint8)  # 4: a cloud bit
    paths["mask"] = write_grid_raster(root / "mask.tif", mask, GRID, nodata=None, band_names=names)
    return paths


def _outputs(root):
    return {k: root / "out" / v for k, v in COMPOSITES_OUTPUTS.items()}


def _run(tmp_path, **kw):
    out = _outputs(tmp_path)
    table = composites_tile(_write_stacks(tmp_path), out, 2021, **kw)
    monthly, meta = read_raster(out["monthly"])
    counts, cmeta = read_raster(out["counts"], masked_to_nan=False)
    return table, monthly, meta, counts, cmeta, out


def _band(monthly, name, month):
    return monthly[monthly_band_names().index(f"monthly_{name}_{month:02d}")][0]


def _indices(blue, green, red, nir, swir1, swir2):
    names = ("blue", "green", "red", "nir", "swir1", "swir2")
    values = (blue, green, red, nir, swir1, swir2)
    return observation_indices(
        {n: np.atleast_1d(np.asarray(v, float)) for n, v in zip(names, values, strict=True)}
    )


def test_index_formulas_worked_by_hand():
    out = _indices([0.05, 0.0], [0.08, 0.0], [0.1, 0.0], [0.4, 0.0], [0.2, 0.0], [0.1, 0.0])
    assert out["ndvi"][0] == pytest.approx(0.3 / 0.5)
    assert out["ndwi"][0] == pytest.approx(0.2 / 0.6)
    # 2.5 x 0.3 / (0.4 + 0.6 - 0.375 + 1) = 0.75 / 1.625
    assert out["evi"][0] == pytest.approx(0.75 / 1.625)
    assert out["nbr"][0] == pytest.approx(0.3 / 0.5)
    assert out["ndti"][0] == pytest.approx(0.1 / 0.3)
    assert out["grvi"][0] == pytest.approx(-0.02 / 0.18)
    # All bands 0: the normalised differences are 0 / 0 (left out); EVI is 0 / 1.
    for name in ("ndvi", "ndwi", "nbr", "ndti", "grvi"):
        assert np.isnan(out[name][1])
    assert out["evi"][1] == 0.0
    # EVI outside [-1, 1] (a hazy, blue-bright pixel) is left out, not kept.
    assert np.isnan(_indices(0.3, 0.1, 0.05, 0.5, 0.3, 0.2)["evi"][0])
    # A negative reflectance can put a normalised difference outside [-1, 1]: left out.
    assert np.isnan(_indices(0.05, 0.08, 0.1, 0.4, 0.2, -0.05)["ndti"][0])


def test_band_names_are_band_major_and_months_01_to_12():
    names = monthly_band_names()
    assert len(names) == 12 * 12 and names[:2] == ["monthly_blue_01", "monthly_blue_02"]
    assert names[12] == "monthly_green_01" and names[-1] == "monthly_grvi_12"
    assert [n.split("_")[1] for n in names[::12]] == list(MONTHLY_BANDS)
    assert count_band_names()[11:13] == ["count_12", "flag_01"]
    assert season_months(9) == [9, 10, 11, 12, 1, 2, 3, 4, 5, 6, 7, 8]


def test_monthly_medians_and_the_gap_rule_worked_by_hand(tmp_path):
    table, monthly, meta, counts, cmeta, _ = _run(tmp_path, block_rows=1)
    assert meta["descriptions"] == monthly_band_names()
    assert cmeta["descriptions"] == count_band_names() and cmeta["dtype"] == "uint8"
    red = {m: _band(monthly, "red", m) for m in range(1, 13)}
    # January: the median of 0.10 and 0.20 (A) and of 0.10 and 0.30 (B); the margin's
    # December 2020 and January 2022 scenes are not in the season.
    np.testing.assert_allclose(red[1], [0.15, 0.20], rtol=1e-6)
    # Indices are medians of each observation's index, not the index of the medians.
    np.testing.assert_allclose(
        _band(monthly, "ndvi", 1),
        [(ndvi(0.1) + ndvi(0.2)) / 2, (ndvi(0.1) + ndvi(0.3)) / 2],
        rtol=1e-6,
    )
    # March: the second scene is masked by the ingest, so only 0.30 counts.
    np.testing.assert_allclose(red[3], [0.30, 0.30], rtol=1e-6)
    # February: A has no clear observation -> the mean of January and March.
    np.testing.assert_allclose(red[2], [(0.15 + 0.30) / 2, 0.25], rtol=1e-6)
    np.testing.assert_allclose(
        _band(monthly, "ndvi", 2)[A], ((ndvi(0.1) + ndvi(0.2)) / 2 + ndvi(0.3)) / 2, rtol=1e-6
    )
    # April and May (two empty months), November and December (the end): NaN.
    for m in (4, 5, 11, 12):
        assert np.isnan(monthly[[i * 12 + m - 1 for i in range(9)]]).all()
    # September: a scene with no clear pixel, between observed August and October.
    np.testing.assert_allclose(red[9], [(0.06 + 0.10) / 2] * 2, rtol=1e-6)
    np.testing.assert_allclose(_band(monthly, "swir1", 6), [0.2, 0.2], rtol=1e-6)
    count = counts[:12, 0]
    flag = counts[12:, 0]
    np.testing.assert_array_equal(count[:, A], [2, 0, 1, 0, 0, 1, 1, 1, 0, 1, 0, 0])
    np.testing.assert_array_equal(count[:, B], [2, 1, 1, 0, 0, 1, 1, 1, 0, 1, 0, 0])
    o, i, u = OBSERVED, INTERPOLATED, UNFILLED
    np.testing.assert_array_equal(flag[:, A], [o, i, o, u, u, o, o, o, i, o, u, u])
    np.testing.assert_array_equal(flag[:, B], [o, o, o, u, u, o, o, o, i, o, u, u])
    assert list(table.columns) == QA_COLUMNS


def test_qa_table_per_month(tmp_path):
    table, *_, out = _run(tmp_path)
    assert table.equals(pd.read_csv(out["qa"], keep_default_na=False))
    t = table.set_index("month")
    assert t.loc[1, "period"] == "2021-01" and t.loc[1, "scenes"] == 2
    assert t.loc[3, ["scenes", "clear_scenes"]].tolist() == [2, 1]
    assert t.loc[2, ["observed", "interpolated", "unfilled"]].tolist() == [0.5, 0.5, 0.0]
    assert t.loc[9, ["interpolated", "problem"]].tolist() == [1.0, NO_CLEAR_SCENE]
    assert t.loc[4, ["scenes", "unfilled", "problem"]].tolist() == [0, 1.0, NO_SCENE]
    assert (t.loc[[1, 2, 3, 6, 7, 8, 10], "problem"] == "").all()


def test_a_season_without_clear_observations_is_all_nan_with_records(tmp_path, caplog):
    obs = [(d, r, (False, False)) for d, r, _ in OBS]
    out = _outputs(tmp_path)
    with caplog.at_level(logging.WARNING, logger="agrifactory"):
        table = composites_tile(_write_stacks(tmp_path, obs), out, 2021)
    monthly, _ = read_raster(out["monthly"])
    counts, _ = read_raster(out["counts"], masked_to_nan=False)
    assert np.isnan(monthly).all() and (counts[:12] == 0).all() and (counts[12:] == UNFILLED).all()
    assert set(table["problem"]) == {NO_SCENE, NO_CLEAR_SCENE} and (table["unfilled"] == 1).all()
    assert any(
        "no clear Landsat observation in any month" in r.getMessage() for r in caplog.records
    )


def test_a_season_without_any_scene_is_all_nan(tmp_path):
    obs = [o for o in OBS if o[0].year != 2021]  # only the margin's scenes
    table = composites_tile(_write_stacks(tmp_path, obs, ()), _outputs(tmp_path), 2021)
    assert (table["problem"] == NO_SCENE).all() and (table["scenes"] == 0).all()
    assert np.isnan(read_raster(_outputs(tmp_path)["monthly"])[0]).all()


def test_southern_season_takes_its_months_from_two_years(tmp_path):
    # Season 2021 starting in September: September 2020 to August 2021. December 2020 is
    # its fourth month; September 2021 and later are not in it.
    table = composites_tile(_write_stacks(tmp_path), _outputs(tmp_path), 2021, 9)
    monthly, _ = read_raster(_outputs(tmp_path)["monthly"])
    np.testing.assert_allclose(_band(monthly, "red", 12), [0.9, 0.9])
    assert np.isnan(_band(monthly, "red", 10)).all()  # October 2020: no scene, season start
    # November 2020 (empty) lies between September 2020 (empty) and December: not filled.
    assert np.isnan(_band(monthly, "red", 11)).all()
    t = table.set_index("month")
    assert t.loc[12, "period"] == "2020-12" and t.loc[1, "period"] == "2021-01"
    assert table["month"].tolist() == season_months(9)


def test_stacks_of_other_dates_are_an_error_naming_the_file(tmp_path):
    paths = _write_stacks(tmp_path)
    other = _write_stacks(tmp_path / "other", OBS[:-1])
    with pytest.raises(InputError, match="mask.tif"):
        composites_tile({**paths, "mask": other["mask"]}, _outputs(tmp_path), 2021)


def test_fill_single_gaps_leaves_a_nan_neighbour_band_nan():
    medians = np.full((len(MONTHLY_BANDS), 12, 1, 1), 1.0, np.float32)
    medians[0, 0] = np.nan  # blue of month 1 missing (a scene without the band)
    counts = np.ones((12, 1, 1), np.uint8)
    counts[1] = 0
    filled, flags = fill_single_gaps(medians, counts)
    assert flags[1, 0, 0] == INTERPOLATED and np.isnan(filled[0, 1, 0, 0])
    assert (filled[1:, 1] == 1.0).all()


def test_monthly_medians_count_only_clear_observations():
    values = {n: np.array([[[1.0]], [[2.0]], [[9.0]]], np.float32) for n in MONTHLY_BANDS}
    clear = np.array([[[True]], [[True]], [[False]]])
    medians, counts = monthly_medians(values, clear, np.array([0, 0, 0]))
    assert counts[0, 0, 0] == 2 and medians[0, 0, 0, 0] == 1.5
    assert np.isnan(medians[:, 1:]).all() and (counts[1:] == 0).all()


def test_rule_function_takes_a_snakemake_job(tmp_path):
    out = _outputs(tmp_path)
    job = fake_job(
        input=_write_stacks(tmp_path),
        output=out,
        params={"composites": {"block_rows": 1}},
        wildcards={"tile": "h000v000", "year": "2021"},
        log=tmp_path / "composites.log",
    )
    rules.composites(job)
    qa = pd.read_csv(out["qa"], keep_default_na=False)
    assert qa["month"].tolist() == list(range(1, 13))
    assert "no_scene" in (tmp_path / "composites.log").read_text()  # April's warning


def test_median_equals_numpys_nanmedian():
    from agrifactory.timeseries.composites import _nanmedian

    rng = np.random.default_rng(3)
    stack = rng.random((7, 50, 40)).astype(np.float32)
    stack[rng.random(stack.shape) < 0.5] = np.nan  # some pixels have no value at all
    with np.errstate(all="ignore"), pytest.warns(RuntimeWarning):
        expected = np.nanmedian(stack, axis=0)
    np.testing.assert_allclose(_nanmedian(stack), expected, rtol=1e-6, equal_nan=True)
    assert np.isnan(expected).any()
