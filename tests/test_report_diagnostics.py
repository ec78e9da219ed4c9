"""Report diagnostics: NDVI at sample pixels, transfer and active-learning tables,
station series with per-station metrics, areas per unit, table layout helpers."""

from __future__ import annotations

import datetime as dt
import math
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest
from matplotlib.figure import Figure
from snakemake.iocontainers import Namedlist

from agrifactory.aggregate import sums, zonal
from agrifactory.aggregate.areas import shown_classes, unit_areas_view
from agrifactory.aggregate.classes import TOTAL_ADCODE
from agrifactory.grid import ALBERS, PixelGrid
from agrifactory.io.raster import write_grid_raster
from agrifactory.report import diagnostics as diag
from agrifactory.report import rules as report_rules
from agrifactory.report.learning import curve_view, learning_curve_table, transfer_table
from agrifactory.report.tables import constant_columns, write_html_table
from agrifactory.soil_moisture.plots import panel_title, plot_station_series, station_metrics

# --- NDVI at sample pixels -----------------------------------------------------------

# 3 x 3 pixels of 30 m, upper-left corner at (0, 90); the samples sit in pixel (1, 2).
GRID = PixelGrid(x_min=0.0, y_max=90.0, res=30.0, width=3, height=3)
X, Y = 75.0, 45.0  # centre of row 1, column 2
OBS_DATES = ["2021-03-01", "2021-03-17", "2021-04-02"]
FUSED_DATES = ["2021-01-01", "2021-01-09", "2021-01-17", "2021-01-25"]
#: Flag tags as a newer fusion writes them: code 6 is a fallback this module never saw.
FLAG_TAGS = {"flag_0": "invalid", "flag_1": "weighted", "flag_6": "spatial_fallback",
             "flag_255": "no_pair", "AREA_OR_POINT": "Area"}  # fmt: skip


def _stack(values: list[float], shape=(3, 3)) -> np.ndarray:
    """A stack whose pixel (1, 2) holds ``values`` and every other pixel 0."""
    out = np.zeros((len(values), *shape), np.float32)
    out[:, 1, 2] = values
    return out


@pytest.fixture
def tile_files(tmp_path):
    """One tile-year's NDVI chain with hand-set values at pixel (1, 2)."""
    d = tmp_path / "tile"
    landsat = _stack([0.2, np.nan, 0.6])  # 2nd date: cloud (NaN)
    mask = _stack([0, 0, 2]).astype(np.uint8)  # 3rd date: flagged cloudy by the quality mask
    fused = _stack([0.25, np.nan, 0.35, 0.45])
    flags = _stack([1, 255, 6, 1]).astype(np.uint8)
    hants = _stack([0.24, 0.3, 0.36, 0.44])
    write = {
        "landsat": (landsat, OBS_DATES, np.nan, {}),
        "mask": (mask, OBS_DATES, None, {}),
        "fused": (fused, FUSED_DATES, np.nan, {}),
        "flags": (flags, FUSED_DATES, None, FLAG_TAGS),
        "hants": (hants, FUSED_DATES, np.nan, {}),
    }
    return {
        key: str(write_grid_raster(d / f"{key}.tif", a, GRID, nodata=nd, band_names=names,
                                   tags=tags))
        for key, (a, names, nd, tags) in write.items()
    }  # fmt: skip


def test_flag_names_come_from_the_tags_whatever_the_codes():
    assert diag.flag_names(FLAG_TAGS) == {
        0: "invalid",
        1: "weighted",
        6: "spatial_fallback",
        255: "no_pair",
    }
    assert diag.flag_names({"flag_x": "bad", "method": "ESTARFM"}) == {}


def test_pixel_series_keeps_clear_observations_and_reads_every_stack(tile_files):
    s = diag.pixel_series(tile_files, X, Y)
    # 2021-03-17 is NaN in the NDVI, 2021-04-02 is not clear in the mask: one kept.
    assert s.observed_dates == [dt.date(2021, 3, 1)]
    np.testing.assert_allclose(s.observed, [0.2])
    assert s.dates == [dt.date.fromisoformat(d) for d in FUSED_DATES]
    np.testing.assert_allclose(s.fused, [0.25, np.nan, 0.35, 0.45])
    assert s.flags.tolist() == [1, 255, 6, 1]
    np.testing.assert_allclose(s.hants, [0.24, 0.3, 0.36, 0.44], rtol=1e-6)


def test_a_point_outside_the_tile_is_refused(tile_files):
    with pytest.raises(Exception, match="outside the raster"):
        diag.pixel_series(tile_files, 95.0, 45.0)


def test_the_panel_marks_fused_values_by_the_flag_names_of_the_tags(tile_files):
    s = diag.pixel_series(tile_files, X, Y)
    ax = Figure().subplots()
    seen: dict = {}
    diag._draw(ax, s, diag.flag_names(FLAG_TAGS), seen)
    # no_pair has no value: marked at the bottom; the new code 6 gets its tag's name.
    assert list(seen) == [
        "HANTS curve",
        "Landsat (clear)",
        "fused: weighted",
        "fused: spatial_fallback",
        "fused: no_pair (no value)",
    ]
    np.testing.assert_allclose(seen["fused: no_pair (no value)"].get_ydata(), [diag.NO_VALUE_Y])
    weighted = seen["fused: weighted"]
    assert weighted.get_marker() == diag.FLAG_MARKERS[1]  # second code of the tags
    np.testing.assert_allclose(weighted.get_ydata(), [0.25, 0.45])


def _training() -> pd.DataFrame:
    rows = []
    for code, n_val in ((1, 5), (2, 1), (3, 0)):
        for k in range(n_val):
            rows.append((f"V{code}{k}", "validation", code))
        rows.append((f"T{code}", "train", code))
    rows.append(("VN", "validation", None))
    t = pd.DataFrame(rows, columns=["sample_id", "split", "croptype"])
    return t.assign(tile_id="h000v000", x=X, y=Y, croptype=t["croptype"].astype("Int16"))


def test_pick_samples_draws_validation_samples_per_class_with_the_seed():
    t = _training()
    a = diag.pick_samples(t, "croptype", per_class=2, seed=7)
    assert a["croptype"].tolist() == [1, 1, 2]  # class 2 has one, class 3 none
    assert set(a["sample_id"]) <= {f"V1{k}" for k in range(5)} | {"V20"}
    pd.testing.assert_frame_equal(a, diag.pick_samples(t.sample(frac=1, random_state=1),
                                                       "croptype", per_class=2, seed=7))  # fmt: skip
    draws = {tuple(diag.pick_samples(t, "croptype", seed=s)["sample_id"]) for s in range(20)}
    assert len(draws) > 1  # the seed picks


VALIDATION_FLAGS = """heldout_date,method,flag,flag_name,coverage,n,rmse,bias,baseline_rmse
2021-06-02,quality,1,weighted,0.5,2,0.1,0.0,0.2
2021-06-02,quality,4,single_pair_fallback,0.25,0,,,
2021-07-04,quality,1,weighted,0.75,2,0.3,0.1,0.4
2021-07-04,quality,4,single_pair_fallback,0.0,0,,,
"""
SCATTER = """flag,flag_name,observed,fused,n
1,weighted,0.5,0.52,3
4,single_pair_fallback,0.3,0.3,1
"""


def _validation_files(tmp_path) -> dict[str, list[str]]:
    files = {"validation_flags": VALIDATION_FLAGS, "validation_scatter": SCATTER}
    for key, text in files.items():
        (tmp_path / f"{key}.csv").write_text(text)
    return {key: [str(tmp_path / f"{key}.csv")] for key in files}


def test_held_out_figures_pool_the_tiles(tmp_path):
    from agrifactory.report import heldout

    a, b = tmp_path / "a", tmp_path / "b"
    a.mkdir(), b.mkdir()
    files = [_validation_files(a), _validation_files(b)]
    (b / "validation_flags.csv").write_text(VALIDATION_FLAGS.replace("0.5,2,0.1", "0.25,6,0.1"))
    coverage, pooled = heldout.flag_figures([f["validation_flags"][0] for f in files])
    # Weighted: tiles at 50 % and 25 % on 06-02, 75 % and 75 % on 07-04.
    assert coverage.loc["2021-06-02", "weighted"] == pytest.approx(37.5)
    assert coverage.loc["2021-07-04", "weighted"] == pytest.approx(75.0)
    assert coverage.loc["2021-06-02", "single_pair_fallback"] == pytest.approx(25.0)
    # Pooled over tiles and dates: n = 2 + 2 + 6 + 2, squared errors 2(0.01) + 2(0.09)
    # + 6(0.01) + 2(0.09) = 0.44, baseline 2(0.04) + 2(0.16) + 6(0.04) + 2(0.16) = 0.96.
    assert pooled.loc["weighted", "n"] == 12
    assert pooled.loc["weighted", "rmse"] == pytest.approx(np.sqrt(0.44 / 12))
    assert pooled.loc["weighted", "baseline_rmse"] == pytest.approx(np.sqrt(0.96 / 12))
    assert "single_pair_fallback" not in pooled.index  # no pixel with a baseline
    scatter = heldout.scatter_sum([f["validation_scatter"][0] for f in files])
    assert scatter["n"].tolist() == [6, 2]  # each cell summed over the two tiles
    out = heldout.heldout_figure(scatter, coverage, pooled, tmp_path / "h.png", title="t")
    assert out.read_bytes()[:4] == b"\x89PNG"


def _job(tmp_path, tile_files, training: pd.DataFrame, **extra):
    path = tmp_path / "training.parquet"
    training.to_parquet(path)
    inputs = {k: [v] for k, v in tile_files.items()} | {"training": str(path)} | extra
    inputs |= _validation_files(tmp_path)
    outputs = {key: str(tmp_path / report_rules.DIAGNOSTICS[key]) for key in ("ndvi", "heldout")}
    outputs |= {k: str(tmp_path / report_rules.DIAGNOSTICS[k]) for k in extra if k != "simulation"}
    if "simulation" in extra:
        outputs["active_learning"] = str(tmp_path / report_rules.DIAGNOSTICS["active_learning"])
    return SimpleNamespace(
        input=Namedlist(fromdict=inputs),
        output=Namedlist(fromdict=outputs),
        log=[str(tmp_path / "log")],
        wildcards=SimpleNamespace(year="2021"),
        params=SimpleNamespace(tiles=["h000v000"], seed=3),
    )


@pytest.mark.parametrize("labels", ["cropland only", "none"])
def test_a_run_without_crop_type_labels_still_gets_its_figure(tmp_path, tile_files, labels):
    t = _training().assign(croptype=pd.NA)
    t = t.assign(cropland=pd.array([1] * len(t), "Int16") if labels == "cropland only" else pd.NA)
    report_rules.diagnostics(_job(tmp_path, tile_files, t))
    assert (tmp_path / "diagnostics_ndvi.png").read_bytes()[:4] == b"\x89PNG"
    expected = "of cropland: 2 validation" if labels == "cropland only" else "0 validation"
    assert expected in (tmp_path / "log").read_text()


def test_rule_diagnostics_draws_the_figure_and_the_pages(tmp_path, tile_files):
    transfer = tmp_path / "croptype_west_to_east.csv"
    transfer.write_text(
        "product,source,target,augmentation,within_oa,transfer_oa,oa_drop,within_macro_f1,"
        "transfer_macro_f1,macro_f1_drop,n_train,n_target\n"
        "croptype,west,east,False,0.84,0.54,0.30,0.8,0.5,0.3,184,304\n"
    )
    curve = tmp_path / "curve.csv"
    curve.write_text(
        "product,strategy,round,n_labels,overall_accuracy,macro_f1\n"
        "croptype,random,0,20,0.5,0.4\ncroptype,random,1,30,0.6,0.5\n"
    )
    job = _job(tmp_path, tile_files, _training(), transfer=[str(transfer)], simulation=str(curve))
    report_rules.diagnostics(job)
    for figure in ("diagnostics_ndvi.png", "diagnostics_heldout.png"):
        assert (tmp_path / figure).read_bytes()[:4] == b"\x89PNG"
    page = (tmp_path / "transfer.html").read_text()
    assert "<td>west</td><td>east</td>" in page and '<td class="num">0.540</td>' in page
    al = (tmp_path / "active_learning.html").read_text()
    assert "ran once (no repeats)" in al and "_sd" not in al


# --- transfer and active learning ----------------------------------------------------


def test_learning_curve_spread_over_repeats(tmp_path):
    path = tmp_path / "sim.csv"
    path.write_text(
        "product,strategy,repeat,round,n_labels,overall_accuracy\n"
        "croptype,uncertainty,0,0,20,0.50\n"
        "croptype,uncertainty,1,0,20,0.60\n"
        "croptype,uncertainty,2,0,20,0.70\n"
        "croptype,uncertainty,0,1,30,0.80\n"
        "croptype,uncertainty,1,1,30,0.80\n"
        "croptype,uncertainty,2,1,30,0.80\n"
    )
    curve = learning_curve_table(path)
    first = curve.iloc[0]
    assert (first["strategy"], first["n_labels"], first["repeats"]) == ("uncertainty", 20, 3)
    assert first["overall_accuracy_mean"] == pytest.approx(0.6)
    assert (first["overall_accuracy_min"], first["overall_accuracy_max"]) == (0.5, 0.7)
    assert first["overall_accuracy_sd"] == pytest.approx(0.1)  # sample sd of .5, .6, .7
    assert curve.iloc[1]["overall_accuracy_sd"] == pytest.approx(0.0)
    assert curve_view(curve).equals(curve)  # repeats: the spread stays


def test_a_single_run_curve_shows_only_its_value(tmp_path):
    path = tmp_path / "sim.csv"
    path.write_text("strategy,round,n_labels,overall_accuracy\nrandom,0,20,0.4\nrandom,1,30,0.5\n")
    view = curve_view(learning_curve_table(path))
    assert list(view.columns) == ["strategy", "n_labels", "overall_accuracy"]
    assert view["overall_accuracy"].tolist() == [0.4, 0.5]


def test_transfer_tables_are_stacked_in_the_documented_columns(tmp_path):
    paths = []
    for k, aug in enumerate(("False", "True")):
        p = tmp_path / f"t{k}.csv"
        p.write_text(f"transfer_oa,source,target,augmentation,extra\n0.{5 + k},w,e,{aug},1\n")
        paths.append(p)
    t = transfer_table(paths)
    assert list(t.columns) == ["source", "target", "augmentation", "transfer_oa"]
    assert t["transfer_oa"].tolist() == [0.5, 0.6]


# --- soil moisture at stations ---------------------------------------------------------

OBSERVED = [0.1, 0.2, 0.3, 0.4, 0.5]
# Deviations from the mean 0.3: observed (-.2, -.1, 0, .1, .2), calibrated
# (-.2, 0, -.1, .1, .2): covariance sum .09, both variance sums .1 -> PCC 0.9;
# differences (0, .1, -.1, 0, 0) -> RMSE sqrt(.02 / 5) = 0.0632456.
CALIBRATED = [0.1, 0.3, 0.2, 0.4, 0.5]
# Reversed: PCC -1; differences (.4, .2, 0, -.2, -.4) -> RMSE sqrt(.4 / 5) = 0.2828427.
REANALYSIS = [0.5, 0.4, 0.3, 0.2, 0.1]


def _series(with_reanalysis: bool = True) -> pd.DataFrame:
    t = pd.DataFrame(
        {
            "date": pd.date_range("2021-07-01", periods=5),
            "station": "N:SM1",
            "layer": "surface",
            "observed": OBSERVED,
            "downscaled": OBSERVED,
            "calibrated": CALIBRATED,
        }
    )
    return t.assign(reanalysis=REANALYSIS) if with_reanalysis else t


def test_per_station_pcc_and_rmse_worked_by_hand():
    m = station_metrics(_series(), ["calibrated", "reanalysis"]).set_index("product")
    assert m.loc["calibrated", "pcc"] == pytest.approx(0.9)
    assert m.loc["calibrated", "rmse"] == pytest.approx(math.sqrt(0.004))
    assert m.loc["reanalysis", "pcc"] == pytest.approx(-1.0)
    assert m.loc["reanalysis", "rmse"] == pytest.approx(math.sqrt(0.08))
    assert m["n"].tolist() == [5, 5]
    title = panel_title("N:SM1", "surface", m.reset_index())
    assert title == "N:SM1 - surface | cal PCC 0.90 RMSE 0.063 | rea PCC -1.00 RMSE 0.283"


@pytest.mark.parametrize("with_reanalysis", [True, False])
def test_station_series_plot_with_and_without_the_reanalysis(tmp_path, with_reanalysis):
    csv = tmp_path / "series.csv"
    _series(with_reanalysis).to_csv(csv, index=False)
    out = plot_station_series(csv, tmp_path / "series.png")
    assert out.read_bytes()[:4] == b"\x89PNG"


# --- areas per unit --------------------------------------------------------------------

# The hand-made rasters of tests/test_aggregate_zonal.py, with a crop-type map on the
# cropland pixels: unit A (x 0-40 m) holds column 0 whole and a third of column 1.
CROPLAND = np.array([[1, 1, 0], [0, 1, 1], [1, 0, 255]], np.uint8)
IRRIGATION = np.array([[1, 2, 0], [0, 2, 1], [2, 0, 255]], np.uint8)
CROPTYPE = np.array([[1, 3, 0], [0, 2, 1], [7, 0, 255]], np.uint8)


def _areas_table(unit: str) -> pd.DataFrame:
    import geopandas as gpd
    import shapely

    units = gpd.GeoDataFrame(
        {"adcode": ["110000", "120000"], "name": ["A", "B"],
         "province_adcode": ["110000", "120000"]},
        geometry=[shapely.box(0, 0, 40, 90), shapely.box(40, 20, 90, 90)],
        crs=ALBERS,
    )  # fmt: skip
    products = {"cropland": CROPLAND, "irrigation": IRRIGATION, "croptype": CROPTYPE}
    t = zonal.unit_pixel_sums(products, GRID, units)
    t = t.assign(tile="h000v000", method="fraction", level="county", area_ha=t["pixels"] * 0.09)
    areas = sums.combine_partials([t[zonal.PARTIAL_COLUMNS]])
    return sums.area_table(areas, units, "county", unit=unit)


def test_areas_per_unit_from_hand_made_class_and_unit_rasters():
    view = unit_areas_view(_areas_table("kha"), "kha", also_ha=True).set_index("adcode")
    a = view.loc["110000"]
    px = 0.09  # ha per pixel
    # A: column 0 (codes 1, 0, 7 in crop type; 1, 0, 2 in irrigation) whole, and a third
    # of column 1 (3, 2, 0; 2, 2, 0).
    expected_ha = {
        "cropland": 8 / 3 * px,
        "irrigated": 1 * px,
        "rainfed": 5 / 3 * px,
        "potato": 1 * px,
        "sugar_beet": 1 / 3 * px,
        "sunflower": 1 / 3 * px,
        "flax": 1 * px,
        "wheat": 0.0,
    }
    for stem, ha in expected_ha.items():
        assert a[f"{stem}_kha"] == pytest.approx(ha / 1000, abs=1e-10), stem
        assert a[f"{stem}_ha"] == pytest.approx(ha, abs=1e-7), stem
    assert a["coverage_pct"] == pytest.approx(100 * 4 * px / (40 * 90 / 1e4), abs=1e-4)
    assert view.index[-1] == TOTAL_ADCODE
    crops = [s for s in shown_classes() if s not in ("cropland", "irrigated", "rainfed")]
    for adcode, row in view.iterrows():  # irrigated + rainfed and the crops sum to cropland
        assert row["irrigated_ha"] + row["rainfed_ha"] == pytest.approx(row["cropland_ha"]), adcode
        assert sum(row[f"{c}_ha"] for c in crops) == pytest.approx(row["cropland_ha"]), adcode


def test_areas_view_columns_and_units():
    view = unit_areas_view(_areas_table("kha"), "kha")
    assert list(view.columns[:4]) == ["adcode", "name", "coverage_pct", "cropland_kha"]
    assert "other_kha" not in view and "not_cropland_kha" not in view
    assert not any(c.endswith("_ha") for c in view.columns)
    ha = unit_areas_view(_areas_table("ha"), "ha", also_ha=True)
    assert sum(c.endswith("_ha") for c in ha.columns) == len(shown_classes())  # not twice


def test_county_areas_page_gives_ha_in_a_second_table(tmp_path):
    from agrifactory.aggregate.rules import CompareSettings, write_areas_page

    table = _areas_table("kha")
    page = write_areas_page(table, "county", tmp_path / "c.html", CompareSettings()).read_text()
    first, second = page.split("<h2>The same areas in ha</h2>")
    assert "cropland_<wbr>kha" in first and "_<wbr>ha<" not in first
    assert "cropland_<wbr>ha" in second and "kha" not in second and "coverage" not in second
    province = write_areas_page(table, "province", tmp_path / "p.html", CompareSettings())
    assert "<h2>" not in province.read_text()


# --- table layout ----------------------------------------------------------------------


def test_constant_columns_move_to_the_caption_and_headers_may_break(tmp_path):
    t = pd.DataFrame(
        {"level": ["county", "county", "county"], "unit": ["kha", None, "kha"],
         "mixed": ["a", "b", "a"], "value_kha": [1.0, 2.0, 3.0]}
    )  # fmt: skip
    shown, moved = constant_columns(t, ["level", "unit", "mixed", "absent"])
    assert moved == {"level": "county", "unit": "kha"}
    assert list(shown.columns) == ["mixed", "value_kha"]
    page = write_html_table(shown, tmp_path / "t.html", title="t").read_text()
    assert "<th>value_<wbr>kha</th>" in page
    assert '<div class="scroll">' in page


@pytest.mark.filterwarnings("error")  # e.g. matplotlib's legend without entries
def test_held_out_figure_without_held_out_scenes(tmp_path):
    """A run whose tiles had no held-out scene (header-only tables) still gets its figure."""
    from agrifactory.report import heldout

    flags = tmp_path / "validation_flags.csv"
    flags.write_text(VALIDATION_FLAGS.splitlines()[0] + "\n")
    scatter = tmp_path / "validation_scatter.csv"
    scatter.write_text(SCATTER.splitlines()[0] + "\n")
    coverage, pooled = heldout.flag_figures([flags])
    assert coverage.empty and pooled.empty
    cells = heldout.scatter_sum([scatter])
    out = heldout.heldout_figure(cells, coverage, pooled, tmp_path / "h.png")
    assert out.read_bytes()[:4] == b"\x89PNG"
