"""The accuracy page of a product: a row per class, intervals in [0, 1], the CI flag."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from PIL import Image

from agrifactory.report.accuracy import (
    class_table,
    confusion_heatmaps,
    read_confusion,
    write_accuracy_page,
)
from agrifactory.report.headline import wilson_interval

COLUMNS = ["sample", "product", "class_code", "class_name", "metric", "value", "se"]
COLUMNS += ["ci95_low", "ci95_high", "n"]
NAN = np.nan


def _report() -> pd.DataFrame:
    rows = [
        ("validation", "p", -1, "all", "overall_accuracy", 0.9, NAN, NAN, NAN, 30),
        ("validation", "p", -1, "all", "kappa", 0.8, NAN, NAN, NAN, 30),
        ("validation", "p", -1, "all", "macro_f1", 0.85, NAN, NAN, NAN, 30),
        ("stratified", "p", -1, "all", "overall_accuracy_stratified", 0.95, 0.03, 0.89, 1.01, 200),
    ]
    per_class = {  # code: (name, UA, n mapped, PA, n reference, F1, strat UA, lo, hi)
        0: ("other", 1.0, 10, 0.8, 12, 0.889, 0.97, 0.93, 1.02),
        1: ("wheat", 0.85, 20, 0.944, 18, 0.895, 0.90, -0.01, 0.98),
        2: ("empty", NAN, 0, NAN, 0, NAN, NAN, NAN, NAN),
    }
    for code, (name, ua, nm, pa, nr, f1, sua, lo, hi) in per_class.items():
        rows += [
            ("validation", "p", code, name, "users_accuracy", ua, NAN, NAN, NAN, nm),
            ("validation", "p", code, name, "producers_accuracy", pa, NAN, NAN, NAN, nr),
            ("validation", "p", code, name, "f1", f1, NAN, NAN, NAN, nm + nr),
            ("validation", "p", code, name, "n_reference", float(nr), NAN, NAN, NAN, NAN),
            ("validation", "p", code, name, "n_mapped", float(nm), NAN, NAN, NAN, NAN),
            ("stratified", "p", code, name, "users_accuracy_stratified", sua, 0.02, lo, hi, NAN),
            (
                "stratified",
                "p",
                code,
                name,
                "producers_accuracy_stratified",
                0.9,
                0.1,
                0.7,
                1.1,
                NAN,
            ),
        ]
    return pd.DataFrame(rows, columns=COLUMNS)


def _areas() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "product": "p",
            "class": ["other", "wheat", "empty"],
            "region": "all",
            "area_ha": [100.0, 50.0, 5.0],
            "se_ha": [5.0, 4.0, 4.0],
            "ci95_low_ha": [90.0, 42.0, -3.0],
            "ci95_high_ha": [110.0, 58.0, 13.0],
            "mapped_ha": [95.0, 60.0, 0.0],  # wheat's pixel count lies above its interval
        }
    )


def test_one_row_per_class_with_its_figures():
    t = class_table(_report(), _areas()).set_index("class")
    assert list(t.index) == ["other", "wheat", "empty"]
    assert t.loc["wheat", "n_reference"] == 18 and t.loc["wheat", "n_mapped"] == 20
    assert t.loc["wheat", "users_accuracy"] == 0.85 and t.loc["wheat", "f1"] == 0.895
    assert t.loc["wheat", "users_accuracy_ci95_low"] == wilson_interval(0.85, 20)[0]
    assert t.loc["other", "producers_accuracy_ci95_high"] == wilson_interval(0.8, 12)[1]
    assert t.loc["other", "adjusted_ha"] == 100.0 and t.loc["wheat", "mapped_ha"] == 60.0
    assert t.loc["empty", "adjusted_ci95_low_ha"] == 0.0  # an area is never negative


def test_every_interval_lies_within_zero_and_one():
    t = class_table(_report(), _areas())
    lows = t[[c for c in t.columns if c.endswith("_ci95_low") and "accuracy" in c]]
    highs = t[[c for c in t.columns if c.endswith("_ci95_high") and "accuracy" in c]]
    assert lows.shape == highs.shape == (3, 4)
    assert (lows.fillna(0).to_numpy() >= 0).all() and (highs.fillna(1).to_numpy() <= 1).all()
    by = t.set_index("class")
    # The table's 0.93-1.02 and -0.01-0.98 are clipped, not dropped.
    assert by.loc["other", "users_accuracy_stratified_ci95_high"] == 1.0
    assert by.loc["wheat", "users_accuracy_stratified_ci95_low"] == 0.0
    assert by.loc["other", "users_accuracy_stratified_ci95_low"] == 0.93
    assert np.isnan(by.loc["empty", "users_accuracy_ci95_low"])  # no mapped sample: no interval


def test_pixel_count_in_ci95_flags_a_count_outside_the_interval():
    t = class_table(_report(), _areas()).set_index("class")["pixel_count_in_ci95"]
    assert t["other"] and not t["wheat"] and t["empty"]


def test_the_page_prints_counts_as_integers_and_flags(tmp_path):
    report, areas = tmp_path / "report.csv", tmp_path / "areas.csv"
    _report().to_csv(report, index=False)
    _areas().to_csv(areas, index=False)
    page = write_accuracy_page(report, areas, tmp_path / "a.html", title="t").read_text("utf-8")
    assert page.count("<tr class=") == 3  # one row per class
    assert '<td class="num">18</td>' in page and "18.000" not in page
    assert "0.850 (" in page and "0.970 (0.930–1.000)" in page
    assert '<tr class="no"><td>wheat</td>' in page
    assert "Validation samples (n = 30): OA 0.900, kappa 0.800, macro-F1 0.850" in page
    assert "Stratified sample (n = 200): OA 0.950 (0.890–1.000)" in page


@pytest.mark.parametrize("n", [1, 5, 50])
def test_wilson_interval_holds_the_estimate(n):
    for p in np.linspace(0, 1, 11):
        lo, hi = wilson_interval(float(p), n)
        assert 0 <= lo <= p + 1e-12 and p - 1e-12 <= hi <= 1


def test_confusion_heatmap_of_the_rule_tables(tmp_path):
    csv = tmp_path / "confusion.csv"
    csv.write_text(
        "map\\reference,ref_other,ref_wheat\nmap_other,8,2\nmap_wheat,0,5\n", encoding="utf-8"
    )
    cm = read_confusion(csv)
    assert list(cm.index) == ["other", "wheat"] and list(cm.columns) == ["other", "wheat"]
    assert cm.loc["other", "wheat"] == 2 and int(cm.to_numpy().sum()) == 15
    png = confusion_heatmaps({"validation": cm, "stratified": cm}, tmp_path / "c.png", title="t")
    image = np.asarray(Image.open(png).convert("RGB"))
    assert image.shape[0] > 150 and image.shape[1] > 2 * image.shape[0] * 0.8  # two panels
