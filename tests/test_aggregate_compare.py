"""Comparison with official statistics: units, the ±10 % count, missing rows, scores, bad input."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from agrifactory.aggregate import compare
from agrifactory.aggregate.accuracy import read_accuracy
from agrifactory.errors import InputError

HEADER = "adcode,name,cropland_ha,reference_date,source\n"
UNITS = ["110000", "120000", "130000", "140000", "150000"]


def _areas(mapped_ha):
    """A province area table (hectares) with the given cropland per unit and a national row."""
    rows = [
        {"level": "province", "adcode": a, "name": f"unit {a}", "coverage": 1.0, "cropland_ha": v}
        for a, v in mapped_ha.items()
    ]
    rows.append(
        {
            "level": "province",
            "adcode": "100000",
            "name": "total inside the units",
            "coverage": 1.0,
            "cropland_ha": sum(mapped_ha.values()),
        }
    )
    return pd.DataFrame(rows)


def _official(tmp_path, body, header=HEADER):
    path = tmp_path / "stats.csv"
    path.write_text(header + body, encoding="utf-8")
    return compare.read_official(path, UNITS, quantity="cropland")


def test_within_10pct_count_statuses_and_units(tmp_path):
    areas = _areas({"110000": 110.0, "120000": 89.0, "130000": 100.0, "150000": 5.0})
    official = _official(
        tmp_path,
        "110000,a,100,2019-12-31,s\n"  # +10 % exactly: within (inclusive)
        "120000,b,100,2019-12-31,s\n"  # -11 %: outside
        "130000,c,105,2019-12-31,s\n"  # -4.76 %: within
        "140000,d,50,2019-12-31,s\n"  # not mapped
        "100000,all,400,2019-12-31,s\n",  # national total
    )
    t = compare.compare_with_statistics(areas, official, unit="ha")
    by = t.set_index("adcode")
    assert by.loc["110000", "within_10pct"]
    assert not by.loc["120000", "within_10pct"]
    assert by.loc["130000", "relative_difference_pct"] == pytest.approx(-100 * 5 / 105)
    assert by.loc["140000", "status"] == "not mapped"
    assert np.isnan(by.loc["140000", "mapped_ha"])
    assert by.loc["140000", "official_ha"] == 50.0
    assert by.loc["150000", "status"] == "no statistic"  # mapped, never dropped
    assert by.loc["150000", "mapped_ha"] == 5.0
    assert np.isnan(by.loc["150000", "official_ha"])
    assert by.loc["100000", "status"] == "national total"
    assert by.loc["100000", "mapped_ha"] == 304.0
    assert by.loc["100000", "difference_ha"] == -96.0
    assert t["adcode"].iloc[-1] == "100000"  # the national row comes last

    s = compare.summarize_comparison(t).iloc[0]
    assert s["n_compared"] == 3  # the national row is not a province
    assert s["n_within_10pct"] == 2
    assert s["n_no_statistic"] == 1
    assert s["n_not_mapped"] == 1
    m, o = np.array([110.0, 89.0, 100.0]), np.array([100.0, 100.0, 105.0])
    assert s["rmse_ha"] == pytest.approx(np.sqrt(np.mean((m - o) ** 2)))  # sqrt((100+121+25)/3)
    assert s["rmse_ha"] == pytest.approx(np.sqrt(246 / 3))
    assert np.isnan(s["r2_1to1"]) and np.isnan(s["r2_pearson"])  # 3 units: too few for a fit
    # 1 - SS_res / SS_tot with SS_tot = sum((o - 101.667)^2) = 16.667
    s3 = compare.summarize_comparison(t, min_units_for_fit=3).iloc[0]
    assert s3["r2_1to1"] == pytest.approx(1 - 246 / (2 * (5 / 3) ** 2 + (10 / 3) ** 2))
    assert s3["r2_pearson"] == pytest.approx(np.corrcoef(m, o)[0, 1] ** 2)
    assert s["national_relative_difference_pct"] == pytest.approx(-24.0)


def test_units_are_converted_explicitly_and_named(tmp_path):
    areas = _areas({"110000": 1500.0})
    official = _official(
        tmp_path,
        "110000,22500,mu,2019-12-31\n",  # 22,500 mu = 1,500 ha
        header="adcode,area,unit,reference_date\n",
    )
    for unit, factor in (("ha", 1.0), ("kha", 1e-3), ("km2", 1e-2), ("mu", 15.0)):
        t = compare.compare_with_statistics(areas, official, unit=unit).set_index("adcode")
        assert t.loc["110000", f"mapped_{unit}"] == pytest.approx(1500.0 * factor)
        assert t.loc["110000", f"official_{unit}"] == pytest.approx(1500.0 * factor)
        assert t.loc["110000", f"difference_{unit}"] == pytest.approx(0.0, abs=1e-9)
        assert t.loc["110000", "official_value"] == 22500.0
        assert t.loc["110000", "official_unit"] == "mu"
        area_cols = [c for c in t.columns if c.startswith(("mapped", "official_", "difference"))]
        assert all(
            c.endswith(f"_{unit}") or c in ("official_value", "official_unit") for c in area_cols
        )


def test_min_coverage_marks_partly_mapped_units(tmp_path):
    areas = _areas({"110000": 100.0, "120000": 1.0})
    areas.loc[areas.adcode == "120000", "coverage"] = 0.01
    official = _official(tmp_path, "110000,a,100,2019-12-31,s\n120000,b,100,2019-12-31,s\n")
    t = compare.compare_with_statistics(areas, official, unit="ha", min_coverage=0.5)
    assert t.set_index("adcode").loc["120000", "status"] == "partly mapped"
    s = compare.summarize_comparison(t).iloc[0]
    assert s["n_compared"] == 1 and s["n_partly_mapped"] == 1
    assert np.isnan(s["r2_1to1"])  # fewer than two units compared


def test_a_unit_below_min_coverage_is_never_within_tolerance(tmp_path):
    """Hebei mapped over 0.2 % of its area, its mapped cropland by chance equal to the
    official figure: partly mapped, never counted within ±10 % (default min_coverage)."""
    areas = _areas({"110000": 100.0, "120000": 100.0, "130000": 50.0})
    areas.loc[areas.adcode == "120000", "coverage"] = 0.002
    areas.loc[areas.adcode == "130000", "coverage"] = 0.79  # just below 0.8
    official = _official(
        tmp_path,
        "110000,a,100,2019-12-31,s\n120000,b,100,2019-12-31,s\n130000,c,50,2019-12-31,s\n",
    )
    t = compare.compare_with_statistics(areas, official, unit="ha").set_index("adcode")
    for adcode in ("120000", "130000"):
        assert t.loc[adcode, "status"] == "partly mapped"
        assert t.loc[adcode, "within_10pct"] is pd.NA  # not judged, though mapped == official
    assert t.loc["110000", "within_10pct"] and t.loc["110000", "coverage_pct"] == 100.0
    assert t.loc["120000", "coverage_pct"] == pytest.approx(0.2)
    s = compare.summarize_comparison(t.reset_index()).iloc[0]
    assert (s["n_compared"], s["n_within_10pct"], s["n_partly_mapped"]) == (1, 1, 2)


def test_fit_statistics_need_five_units(tmp_path):
    mapped = {"110000": 100.0, "120000": 210.0, "130000": 290.0, "140000": 420.0}
    body = "".join(
        f"{a},x,{v},2019-12-31,s\n" for a, v in zip(UNITS, [100, 200, 300, 400, 500], strict=True)
    )
    four = compare.compare_with_statistics(_areas(mapped), _official(tmp_path, body), unit="ha")
    assert np.isnan(compare.summarize_comparison(four).iloc[0]["r2_1to1"])
    five = compare.compare_with_statistics(
        _areas({**mapped, "150000": 500.0}), _official(tmp_path, body), unit="ha"
    )
    s = compare.summarize_comparison(five).iloc[0]
    # SS_res = 0 + 100 + 100 + 400 + 0 = 600; SS_tot = 100000 (o: 100..500, mean 300)
    assert s["n_compared"] == 5 and s["r2_1to1"] == pytest.approx(1 - 600 / 100000)


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (
            "110000,a,1,2019-12-31,s\n110000,a,2,2019-12-31,s\n",
            r"adcode 110000 appears more than once \(rows \[2, 3\]\)",
        ),
        ("110000,a,-1,2019-12-31,s\n", r"row 2 \(110000\): area '-1' is negative"),
        ("110000,a,1,2019-12-31,s\n990000,z,1,2019-12-31,s\n", "row 3: unknown adcode 990000"),
    ],
)
def test_bad_statistics_name_the_row(tmp_path, body, message):
    with pytest.raises(InputError, match=message):
        _official(tmp_path, body)


def test_unknown_unit_names_the_row(tmp_path):
    with pytest.raises(InputError, match=r"row 3 \(120000\): unknown unit 'acre'"):
        _official(
            tmp_path,
            "110000,1,ha,2019-12-31\n120000,1,acre,2019-12-31\n",
            header="adcode,area,unit,reference_date\n",
        )


def test_accuracy_estimates_stand_beside_the_pixel_counts(tmp_path):
    acc = tmp_path / "accuracy_cropland.csv"
    acc.write_text(
        "product,class,region,area_ha,se_ha,ci95_low_ha,ci95_high_ha,n_reference\n"
        "cropland,cropland,all,320,10,300.4,339.6,500\n"
        "cropland,cropland,110000,120,8,104.32,135.68,200\n"
        "cropland,other,all,700,10,680.4,719.6,500\n",
        encoding="utf-8",
    )
    accuracy = read_accuracy(acc)
    areas = _areas({"110000": 110.0, "120000": 200.0})
    official = _official(tmp_path, "110000,a,100,2019-12-31,s\n")
    t = compare.compare_with_statistics(areas, official, unit="kha", accuracy=accuracy).set_index(
        "adcode"
    )
    assert t.loc["110000", "adjusted_kha"] == pytest.approx(0.120)
    assert t.loc["110000", "adjusted_ci95_low_kha"] == pytest.approx(0.10432)
    assert np.isnan(t.loc["120000", "adjusted_kha"])  # no estimate for that unit
    assert t.loc["100000", "adjusted_kha"] == pytest.approx(0.320)  # region 'all'
    assert t.loc["100000", "adjusted_se_kha"] == pytest.approx(0.010)

    long = pd.DataFrame(
        {
            "level": "province",
            "adcode": ["110000", "120000", "100000"],
            "product": "cropland",
            "code": 1,
            "class": "cropland",
            "area_ha": [110.0, 200.0, 310.0],
        }
    )
    beside = compare.accuracy_beside_mapped(long, accuracy, unit="ha")
    row = beside[(beside["class"] == "cropland") & (beside.region == "all")].iloc[0]
    assert row["pixel_count_ha"] == 310.0 and row["adjusted_ha"] == 320.0
    assert row["pixel_count_in_ci95"]  # 310 in [300.4, 339.6]


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("cropland,maize,all,1,1,0,2\n", r"row 2: class 'maize' is not in the cropland legend"),
        ("rice,x,all,1,1,0,2\n", r"row 2: unknown product 'rice'"),
        ("cropland,cropland,all,5,1,0,2\n", r"row 2: the estimate 5.0 ha lies outside"),
        ("cropland,cropland,all,1,-1,0,2\n", r"row 2: se_ha -1.0 is negative"),
        ("cropland,cropland,hebei,1,1,0,2\n", r"row 2: region 'hebei' is neither"),
    ],
)
def test_bad_accuracy_tables_name_the_row(tmp_path, line, message):
    path = tmp_path / "acc.csv"
    path.write_text("product,class,region,area_ha,se_ha,ci95_low_ha,ci95_high_ha\n" + line)
    with pytest.raises(InputError, match=message):
        read_accuracy(path)
