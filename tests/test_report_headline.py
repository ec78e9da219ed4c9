"""The report's summary page, rendered from small hand-made product tables.

Each headline figure must equal the number in the product table it names; goals
are marked met or missed; intervals lie in [0, 1].
"""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from shapely.geometry import box

from agrifactory.report.headline import (
    DEMO_BANNER,
    RunFacts,
    YearProducts,
    facts_line,
    headline_table,
    tiles_extent,
    wilson_interval,
    write_headline_html,
)
from agrifactory.report.rules import HeadlineTargets

REPORT_COLUMNS = ["sample", "product", "class_code", "class_name", "metric", "value", "se"]
REPORT_COLUMNS += ["ci95_low", "ci95_high", "n"]


def _accuracy(path, product, oa, n, strat, lo, hi, kappa):
    nan = np.nan
    rows = [
        ("validation", product, -1, "all", "overall_accuracy", oa, nan, nan, nan, n),
        ("validation", product, -1, "all", "kappa", kappa, nan, nan, nan, n),
        ("validation", product, 1, "crop", "users_accuracy", 0.5, nan, nan, nan, 4),
        ("stratified", product, -1, "all", "overall_accuracy_stratified", strat, 0.02, lo, hi, 200),
    ]
    pd.DataFrame(rows, columns=REPORT_COLUMNS).to_csv(path, index=False)
    return path


@pytest.fixture
def products(tmp_path):
    """One year of product tables, written the way the rules write them."""
    cropland = _accuracy(tmp_path / "crop.csv", "cropland", 0.8, 10, 0.97, 0.93, 1.01, 0.6)
    irrigation = _accuracy(tmp_path / "irr.csv", "irrigation", 0.95, 20, 0.9, 0.85, 0.95, 0.89)
    summary = tmp_path / "province_summary.csv"
    pd.DataFrame(
        [{"level": "province", "tolerance_pct": 10.0, "n_compared": 4, "n_within_10pct": 3,
          "share_within_10pct": 0.75, "r2_1to1": np.nan, "n_partly_mapped": 2}]
    ).to_csv(summary, index=False)  # fmt: skip
    evaluation = tmp_path / "evaluation.csv"
    pd.DataFrame(
        {
            "layer": ["surface", "surface", "rootzone", "rootzone"],
            "product": ["downscaled", "calibrated", "downscaled", "calibrated"],
            "pcc": [0.7, 0.9, 0.6, 0.85],
            "rmse": [0.05, 0.025, 0.06, 0.031],
            "n": [100, 100, 90, 90],
        }
    ).to_csv(evaluation, index=False)
    transfer = tmp_path / "croptype_west_to_east.csv"
    pd.DataFrame(
        {
            "product": "croptype",
            "source": "west",
            "target": "east",
            "augmentation": [False, True],
            "within_oa": [0.84, 0.82],
            "transfer_oa": [0.54, 0.67],
            "n_target": [30, 30],
        }
    ).to_csv(transfer, index=False)
    fusion = tmp_path / "fusion.csv"
    pd.DataFrame(
        {
            "tile": ["h001v001_2021", "h002v001_2021", "h001v001_2022"],
            "targets": [46, 46, 46],
            "predicted_pct": [80.0, 60.0, 5.0],  # 2022 is another year: left out
        }
    ).to_csv(fusion, index=False)
    hants = tmp_path / "hants.csv"
    pd.DataFrame(
        {"tile": ["h001v001_2021", "h002v001_2021"], "no_valid_sample_pct": [10.0, 30.0]}
    ).to_csv(hants, index=False)
    year = YearProducts(
        accuracy={"cropland": cropland, "irrigation": irrigation},
        statistics={"province": summary},
        soil_moisture=evaluation,
        transfer=[transfer],
    )
    return {2021: year}, fusion, hants


TARGETS = HeadlineTargets.build(
    {"share_within_tolerance_pct": 80, "transfer_oa": 0.6, "hants_coverage_pct": 75}, "t"
)


def _table(products):
    years, fusion, hants = products
    table = headline_table(years, TARGETS, fusion_qa=fusion, hants_qa=hants)
    return table.set_index("figure")


def test_each_figure_equals_the_number_in_its_product_table(products):
    t = _table(products)
    crop = pd.read_csv(products[0][2021].accuracy["cropland"]).set_index("metric")
    assert (
        t.loc["cropland: overall accuracy, validation samples", "value"]
        == (crop.loc["overall_accuracy", "value"])
    )
    assert (
        t.loc["cropland: overall accuracy, stratified sample", "value"]
        == (crop.loc["overall_accuracy_stratified", "value"])
    )
    assert t.loc["irrigation: Cohen's kappa, validation samples", "value"] == 0.89
    assert "cropland: Cohen's kappa, validation samples" not in t.index  # no goal: no row
    summary = pd.read_csv(products[0][2021].statistics["province"]).iloc[0]
    row = t.loc["provinces within ±10 % of the official cropland area"]
    assert row["value"] == 100 * summary["share_within_10pct"]
    assert row["detail"] == "3 of 4 compared units; 2 partly mapped"
    ev = pd.read_csv(products[0][2021].soil_moisture).set_index(["layer", "product"])
    assert t.loc["surface: PCC, calibrated", "value"] == ev.loc[("surface", "calibrated"), "pcc"]
    assert (
        t.loc["root zone: RMSE, calibrated", "value"]
        == (ev.loc[("rootzone", "calibrated"), "rmse"])
    )
    assert t.loc["pixels predicted per 8-day date (mean)", "value"] == (80.0 + 60.0) / 2
    assert t.loc["pixels with a HANTS fit", "value"] == 100 - (10.0 + 30.0) / 2
    assert t.loc["croptype OA, west → east", "value"] == 0.54
    assert t.loc["croptype OA, west → east, with augmentation", "value"] == 0.67
    assert t.loc["croptype OA, west → east", "detail"] == "0.840 within west; n = 30"
    assert set(t["year"]) == {2021} and len(t) == 14  # 5 accuracy, 1, 4, 2, 2


def test_goals_are_marked_met_or_missed(products):
    status = _table(products)["status"]
    assert status["cropland: overall accuracy, validation samples"] == "missed"  # 0.8 < 0.95
    assert status["cropland: overall accuracy, stratified sample"] == "met"  # 0.97
    assert status["irrigation: overall accuracy, validation samples"] == "met"  # 0.95 ≥ 0.9318
    assert status["irrigation: Cohen's kappa, validation samples"] == "missed"  # 0.89 < 0.91
    assert status["provinces within ±10 % of the official cropland area"] == "missed"  # 75 < 80
    assert status["surface: RMSE, calibrated"] == "met"  # 0.025 ≤ 0.03
    assert status["root zone: RMSE, calibrated"] == "missed"  # 0.031 > 0.03
    assert status["root zone: PCC, calibrated"] == "missed"  # 0.85 < 0.86
    assert status["pixels predicted per 8-day date (mean)"] == ""  # no goal by default
    assert status["pixels with a HANTS fit"] == "met"  # 80 ≥ 75
    assert status["croptype OA, west → east"] == "missed"
    assert status["croptype OA, west → east, with augmentation"] == "met"


def test_intervals_lie_within_zero_and_one(products):
    t = _table(products)
    acc = t[t["section"] == "Accuracy"].dropna(subset=["ci95_low"])
    assert len(acc) == 4
    assert ((acc["ci95_low"] >= 0) & (acc["ci95_high"] <= 1)).all()
    # The stratified interval 0.93-1.01 of the table is clipped at 1.
    assert t.loc["cropland: overall accuracy, stratified sample", "ci95_high"] == 1.0
    assert t.loc["cropland: overall accuracy, stratified sample", "ci95_low"] == 0.93


def test_wilson_interval_by_hand():
    # 8 of 10: centre (0.8 + 1.92/10) / 1.384 = 0.7168, half 0.2265 (z = 1.96).
    lo, hi = wilson_interval(0.8, 10)
    assert (lo, hi) == pytest.approx((0.4902, 0.9433), abs=1e-4)
    assert wilson_interval(1.0, 5)[1] == 1.0 and wilson_interval(0.0, 5)[0] == 0.0
    assert np.isnan(wilson_interval(0.5, 0)[0])


def test_the_page_shows_the_banner_facts_and_table(products, tmp_path):
    table = headline_table(products[0], TARGETS, fusion_qa=products[1], hants_qa=products[2])
    facts = RunFacts(True, [2021], 4, 6, (114.169, 41.64, 114.282, 41.71))
    page = write_headline_html(table, facts, tmp_path / "headline.html").read_text("utf-8")
    assert f'<p class="banner">{DEMO_BANNER}</p>' in page
    assert facts_line(facts) == (
        "Years 2021; 4 tiles of 6 km; extent 114.17° E to 114.28° E, 41.64° N to 41.71° N."
    )
    assert facts_line(facts) in page
    assert "<table>" in page and page.count("<tr") == len(table) + 1
    assert ">missed<" in page and ">met<" in page and "0.493 – 0.943" not in page
    assert "0.490 – 0.943" in page  # the Wilson interval of 8/10
    assert "≥ 0.9318" in page and "≤ 0.03 m3/m3" in page  # goals as set, not rounded
    real = RunFacts(False, [2021], 4, 6, (114.169, 41.64, 114.282, 41.71))
    page = write_headline_html(table, real, tmp_path / "real.html").read_text("utf-8")
    assert DEMO_BANNER not in page


def test_tiles_extent_in_degrees(tmp_path):
    tiles = gpd.GeoDataFrame(
        {"tile_id": ["a", "b"]},
        geometry=[box(114.0, 41.5, 114.1, 41.6), box(114.1, 41.6, 114.3, 41.7)],
        crs="EPSG:4326",
    ).to_crs("EPSG:3857")
    tiles.to_file(tmp_path / "tiles.gpkg")
    assert tiles_extent(tmp_path / "tiles.gpkg") == pytest.approx((114.0, 41.5, 114.3, 41.7))
