"""Official statistics: the real tables, unit conversion, and every bad row named."""

import pytest

from agrifactory.errors import InputError
from agrifactory.io.statistics import HECTARES_PER, from_hectares, read_statistics, to_hectares

HEADER = "adcode,province_zh,cropland_kha,reference_date,source\n"


def _write(tmp_path, body, header=HEADER):
    path = tmp_path / "stats.csv"
    path.write_text(header + body, encoding="utf-8")
    return path


def test_unit_conversions_worked_by_hand():
    assert to_hectares(15.0, "mu") == pytest.approx(1.0)  # 1 mu = 1/15 ha
    assert to_hectares(1.0, "kha") == 1000.0
    assert to_hectares(1.0, "km2") == 100.0
    assert to_hectares(1.5, "wan_mu") == pytest.approx(1000.0)  # 15,000 mu
    for unit in HECTARES_PER:
        assert from_hectares(to_hectares(123.4, unit), unit) == pytest.approx(123.4)
    with pytest.raises(ValueError, match="unknown area unit 'acre'"):
        to_hectares(1.0, "acre")


def test_real_tables_are_read_and_validated(repo_root):
    from agrifactory import boundaries

    known = set(boundaries.load_units("province")["adcode"]) | {"100000"}
    t2008 = read_statistics(
        repo_root / "config/official_stats/china_cropland_2008_yearbook.csv", known_adcodes=known
    )
    assert len(t2008) == 31
    assert t2008["value"].sum() == pytest.approx(121_715.9)
    assert t2008["area_ha"].sum() == pytest.approx(121_715_900.0)
    t2019 = read_statistics(
        repo_root / "config/official_stats/china_cropland_2019_third_land_survey.csv",
        known_adcodes=known,
    )
    assert len(t2019) == 18  # 17 provinces and the national total
    assert t2019.set_index("adcode").loc["100000", "value"] == pytest.approx(127_861.9)
    assert (t2019["reference_date"] == "2019-12-31").all()


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (
            "130000,河北,10,2019-12-31,x\n130000,河北,11,2019-12-31,x\n",
            r"adcode 130000 appears more than once \(rows \[2, 3\]\)",
        ),
        ("130000,河北,-5,2019-12-31,x\n", r"row 2 \(130000\): area '-5' is negative"),
        ("130000,河北,lots,2019-12-31,x\n", r"row 2 \(130000\): area 'lots' is not a number"),
        ("13000,河北,5,2019-12-31,x\n", r"row 2: adcode '13000' is not a 6-digit code"),
        ("130000,河北,5,31/12/2019,x\n", r"row 2 \(130000\): reference_date '31/12/2019'"),
    ],
)
def test_bad_rows_are_named(tmp_path, body, message):
    with pytest.raises(InputError, match=message):
        read_statistics(_write(tmp_path, body))


def test_unknown_adcode_and_unknown_unit(tmp_path):
    with pytest.raises(InputError, match="row 3: unknown adcode 999999"):
        read_statistics(
            _write(tmp_path, "130000,a,1,2019-12-31,x\n999999,b,1,2019-12-31,x\n"),
            known_adcodes={"130000"},
        )
    path = _write(
        tmp_path, "130000,10,acre,2019-12-31\n", header="adcode,area,unit,reference_date\n"
    )
    with pytest.raises(InputError, match=r"row 2 \(130000\): unknown unit 'acre'"):
        read_statistics(path)


def test_area_and_unit_columns_and_mu(tmp_path):
    path = _write(
        tmp_path, "130000,150,mu,2019-12-31\n", header="adcode,area,unit,reference_date\n"
    )
    table = read_statistics(path)
    assert table["area_ha"].iloc[0] == pytest.approx(10.0)


def test_table_without_area_column_is_explained(tmp_path):
    path = _write(tmp_path, "130000,5,2019-12-31\n", header="adcode,cropland,reference_date\n")
    with pytest.raises(InputError, match="expected exactly one area column"):
        read_statistics(path)
