"""Station readers: ISMN (both formats, real sample files), the CSV format, flags, depths."""

from __future__ import annotations

import logging

import numpy as np
import pandas as pd
import pytest

from agrifactory.errors import ConfigError, DataError, InputError
from agrifactory.io.stations import (
    StationRead,
    apply_quality_flags,
    assign_layers,
    daily_layer_means,
    detect_ismn_format,
    find_station_files,
    read_ismn_ceop,
    read_ismn_header_values,
    read_station_csv,
    read_stations,
    select_in_region,
)

COSMOS = (
    "Data_seperate_files_header_20170810_20180809__COSMOS__ARM-1__COSMOS_COSMOS_ARM-1_sm_"
    "0.000000_0.190000_Cosmic-ray-Probe_20170810_20180809.stm"
)
NARBONNE_HV = (
    "format_header_values__SMOSMANIA__SMOSMANIA_SMOSMANIA_Narbonne_sm_0.050000_0.050000_"
    "ThetaProbe-ML2X_20070101_20070131.stm"
)
NARBONNE_CEOP = (
    "format_ceop_sep__SMOSMANIA__SMOSMANIA_SMOSMANIA_Narbonne_sm_0.050000_0.050000_"
    "ThetaProbe-ML2X_20070101_20070131.stm"
)


def _at(df: pd.DataFrame, stamp: str) -> pd.Series:
    hit = df[df["time"] == pd.Timestamp(stamp, tz="UTC")]
    assert len(hit) == 1
    return hit.iloc[0]


@pytest.mark.realdata
def test_cosmos_header_values_pinned(shared_data):
    path = shared_data / "ismn_sample" / COSMOS
    assert detect_ismn_format(path) == "header_values"
    read = read_ismn_header_values(path)
    df = read.records
    assert read.problems == []
    assert len(df) == 6865  # 6867 lines: header, an empty line from "\n\r", 6865 readings
    first = df.iloc[0]
    assert first["station"] == "COSMOS:ARM-1"
    assert (first["lat"], first["lon"], first["elevation"]) == (36.6054, -97.4878, 322.0)
    assert (first["depth_from"], first["depth_to"]) == (0.0, 0.19)
    assert first["sensor"] == "Cosmic-ray-Probe"
    assert first["time"] == pd.Timestamp("2017-08-10 00:00", tz="UTC")
    assert first["value"] == pytest.approx(0.1410)
    assert first["flag"] == "G"
    last = df.iloc[-1]
    assert last["time"] == pd.Timestamp("2018-08-09 23:00", tz="UTC")
    assert last["value"] == pytest.approx(0.1100)
    counts = df["flag"].value_counts().to_dict()
    assert counts == {"G": 6514, "D05": 196, "D03": 137, "D03,D05": 17, "D08,D05": 1}


@pytest.mark.realdata
def test_narbonne_both_formats_agree(shared_data):
    hv = read_ismn_header_values(shared_data / "ismn_sample" / NARBONNE_HV).records
    assert detect_ismn_format(shared_data / "ismn_sample" / NARBONNE_CEOP) == "ceop"
    ceop = read_ismn_ceop(shared_data / "ismn_sample" / NARBONNE_CEOP).records
    assert len(hv) == len(ceop) == 741
    for df in (hv, ceop):
        row = _at(df, "2007-01-01 01:00")
        assert row["station"] == "SMOSMANIA:Narbonne"
        assert (row["lat"], row["lon"], row["elevation"]) == (43.15, 2.9567, 112.0)
        assert (row["depth_from"], row["depth_to"]) == (0.05, 0.05)
        assert row["sensor"] == "ThetaProbe-ML2X"
        assert row["value"] == pytest.approx(0.2140) and row["flag"] == "U"
        dubious = _at(df, "2007-01-16 13:00")
        assert dubious["value"] == pytest.approx(0.1703) and dubious["flag"] == "D05"
        # hours 14:00 and 15:00 of 30 January are missing in the files
        assert pd.Timestamp("2007-01-30 14:00", tz="UTC") not in set(df["time"])
        assert df["flag"].value_counts().to_dict() == {"U": 736, "D05": 5}
    # line 23 of the header+values file lacks the original flag: still a reading
    assert _at(hv, "2007-01-01 22:00")["value"] == pytest.approx(0.2121)
    pd.testing.assert_series_equal(
        hv["value"].reset_index(drop=True), ceop["value"].reset_index(drop=True)
    )


@pytest.mark.realdata
def test_folder_read_skips_static_csv_and_flags_mask(shared_data, caplog):
    files = find_station_files(shared_data / "ismn_sample")
    assert [f.suffix for f in files] == [".stm"] * 3
    read = read_stations(shared_data / "ismn_sample")
    with caplog.at_level(logging.INFO):
        masked, counts = apply_quality_flags(read.records)
    assert counts["G"] == 6514 and counts["U"] == 1472 and counts["D05"] == 206
    assert int(masked["value"].notna().sum()) == 6514
    assert "D03,D05=17" in caplog.text and "masked 1833 of 8347" in caplog.text


BROKEN = """\
NET        NET             ST1               41.20000   114.30000 1400.00    0.05    0.05 Probe
2021/05/01 00:00   0.2000 G M
2021/05/01 06:00   0.2100 G
2021/05/01 12:00   abc G M
2021/13/01 18:00   0.2200 G M
2021/04/31 00:00   0.2300 G M
2021/05/02 00:00   0.2400 G M extra tokens
2021/05/02 06:00   0.2500 0.3 M
2021/05/02 12:00
2021/05/02 18:00   0.2600 D01 M
"""


def test_broken_lines_are_recorded_and_skipped(tmp_path, caplog):
    path = tmp_path / "NET_NET_ST1_sm_0.050000_0.050000_Probe_20210501_20210502.stm"
    path.write_text(BROKEN)
    with caplog.at_level(logging.WARNING):
        read = read_ismn_header_values(path)
    df = read.records
    assert list(df["value"]) == pytest.approx([0.20, 0.21, 0.26])
    assert list(df["flag"]) == ["G", "G", "D01"]
    problems = {p.line: p.reason for p in read.problems}
    assert sorted(problems) == [4, 5, 6, 7, 8, 9]
    assert "not a number" in problems[4]
    assert "timestamp" in problems[5]
    assert "impossible calendar date" in problems[6]
    assert "fields" in problems[7] and "fields" in problems[9]
    assert "flag" in problems[8]
    assert "skipped 6 malformed line(s)" in caplog.text
    assert read.problem_table().shape == (6, 3)


@pytest.mark.parametrize("end", ["\r", "\r\n", "\x0c\n"], ids=["cr", "crlf", "formfeed-lf"])
def test_line_ends(tmp_path, end):
    # old Mac (CR only), Windows (CRLF), and a form feed before LF that is no line end
    path = tmp_path / "NET_NET_ST1_sm_0.050000_0.050000_Probe_20210501_20210502.stm"
    path.write_bytes(BROKEN.replace("\n", end).encode())
    read = read_ismn_header_values(path)
    assert list(read.records["value"]) == pytest.approx([0.20, 0.21, 0.26])
    assert sorted(p.line for p in read.problems) == [4, 5, 6, 7, 8, 9]


MAQU = "MAQU_MAQU_{}_sm_0.050000_0.050000_ECH20-EC-TM_20070101_20131231.stm"


def _maqu(shared_data, station: str) -> StationRead:
    path = shared_data / "ismn_maqu" / "MAQU" / station / MAQU.format(station)
    raw = path.read_bytes()
    assert b"\n" not in raw  # old Mac line ends: CR only
    read = read_ismn_header_values(path)
    assert read.problems == []
    assert len(read.records) == raw.count(b"\r") - 1  # every line but the header
    return read


@pytest.mark.realdata
@pytest.mark.parametrize(
    ("station", "n", "head", "values"),
    [
        (
            "CST-01",
            15927,
            (33.8833, 102.1333, 3431.0),
            [("2008-07-01 00:00", 0.50, "C03"), ("2008-11-26 05:00", 0.28, "D01,D03"),
             ("2009-07-01 00:00", 0.21, "U"), ("2010-07-31 23:00", 0.26, "U")],
        ),
        (
            "CST-02",
            18090,
            (33.6666, 102.1333, 3449.0),
            [("2008-07-01 00:00", 0.45, "U"), ("2009-01-15 12:00", 0.09, "D01,D03"),
             ("2009-07-01 00:00", 0.30, "U"), ("2010-07-31 23:00", 0.41, "U")],
        ),
    ],
)  # fmt: skip
def test_maqu_stations_pinned(shared_data, station, n, head, values):
    df = _maqu(shared_data, station).records
    assert len(df) == n  # hourly with gaps (2008-07-01 to 2010-07-31 holds 18,264 hours)
    assert df["time"].iloc[0] == pd.Timestamp("2008-07-01 00:00", tz="UTC")
    assert df["time"].iloc[-1] == pd.Timestamp("2010-07-31 23:00", tz="UTC")
    assert df["time"].is_monotonic_increasing and df["time"].is_unique
    # the header: the station is CST_01 there (CST-01 in the file and folder names)
    assert set(df["station"]) == {f"MAQU:{station.replace('-', '_')}"}
    assert (df["lat"].iloc[0], df["lon"].iloc[0], df["elevation"].iloc[0]) == head
    assert (df["depth_from"] == 0.05).all() and (df["depth_to"] == 0.05).all()
    assert set(df["sensor"]) == {"ECH20-EC-TM"}
    for stamp, value, flag in values:  # the lines of the file, read by eye
        row = _at(df, stamp)
        assert row["value"] == pytest.approx(value) and row["flag"] == flag


@pytest.mark.realdata
def test_maqu_flags_mask_as_documented(shared_data):
    records = pd.concat([_maqu(shared_data, s).records for s in ("CST-01", "CST-02")])
    # no reading of these files carries G: the default keep_flags [G] masks all of them
    masked, counts = apply_quality_flags(records)
    assert masked["value"].isna().all() and "G" not in counts
    assert counts["U"] == 9407 + 9801 and counts["D01,D03"] == 3258 + 4110
    assert counts["C03"] == 1338 + 2124
    # keeping U as well keeps exactly the U readings, values untouched
    kept, _ = apply_quality_flags(records, keep=["G", "U"])
    ok = kept["value"].notna()
    assert ok.sum() == 19208 and (records.loc[ok.values, "flag"] == "U").all()
    per_station = kept[ok].groupby("station")["value"]
    assert per_station.min().tolist() == pytest.approx([0.20, 0.14])
    assert per_station.max().tolist() == pytest.approx([0.46, 0.46])


def test_unreadable_files_are_input_errors(tmp_path):
    junk = tmp_path / "junk_sm_0.050000_0.050000_X_20210101_20210102.stm"
    junk.write_bytes(b"\x00\x01\x02binary")
    with pytest.raises(InputError, match="binary"):
        read_stations(junk)
    header_only = tmp_path / "h_sm_0.050000_0.050000_X_20210101_20210102.stm"
    header_only.write_text(BROKEN.splitlines()[0] + "\nnonsense line here\n")
    with pytest.raises(InputError, match="no readable reading"):
        read_ismn_header_values(header_only)
    garbage = tmp_path / "g_sm_0.050000_0.050000_X_20210101_20210102.stm"
    garbage.write_text("this is not an ismn file\n")
    with pytest.raises(InputError, match="neither ISMN format"):
        read_stations(garbage)
    with pytest.raises(InputError, match="not found"):
        read_stations(tmp_path / "missing")


CSV = """\
station,lon,lat,depth_from,depth_to,time,value,flag
A,114.1,41.2,0.0,0.1,2021-05-01,0.20,G
A,114.1,41.2,0.0,0.1,2021-05-01T12:00:00+08:00,0.22,G
A,114.1,41.2,0.0,0.1,not-a-time,0.22,G
A,114.1,41.2,0.0,0.1,2021-05-02,x,G
A,114.1,41.2,0.2,0.1,2021-05-02,0.2,G
A,114.2,41.2,0.0,0.1,2021-05-03,0.2,G
A,114.1,41.2,0.0,0.1,2021-05-03
B,114.5,41.6,0.1,0.5,2021-05-01,0.30,D01
B,114.5,41.6,0.1,0.5,2021-05-01,0.32,
"""


def test_station_csv(tmp_path):
    path = tmp_path / "stations.csv"
    path.write_text(CSV)
    read = read_station_csv(path)
    df = read.records
    assert list(df["station"]) == ["A", "A", "B", "B"]
    assert list(df["time"]) == [
        pd.Timestamp("2021-05-01 00:00", tz="UTC"),
        pd.Timestamp("2021-05-01 04:00", tz="UTC"),  # 12:00+08:00
        pd.Timestamp("2021-05-01 00:00", tz="UTC"),
        pd.Timestamp("2021-05-01 00:00", tz="UTC"),
    ]
    assert list(df["flag"]) == ["G", "G", "D01", "G"]  # a blank flag reads as G
    problems = {p.line: p.reason for p in read.problems}
    assert problems == {
        4: "time is not ISO 8601",
        5: "value is not a number",
        6: "depth_from/depth_to not a depth interval",
        8: "6 fields, expected 8",
        7: "lon/lat differ from the station's first row",
    }


def test_csv_without_flag_column_and_bad_header(tmp_path):
    ok = tmp_path / "a.csv"
    ok.write_text("station,lon,lat,depth_from,depth_to,time,value\nS,1,2,0,0.1,2021-01-01,0.3\n")
    assert list(read_station_csv(ok).records["flag"]) == ["G"]
    bad = tmp_path / "b.csv"
    bad.write_text("id,x,y\n1,2,3\n")
    with pytest.raises(InputError, match="lacks column"):
        read_station_csv(bad)


def test_depth_mapping_and_daily_means(tmp_path):
    path = tmp_path / "s.csv"
    path.write_text(
        "station,lon,lat,depth_from,depth_to,time,value,flag\n"
        "S,114,41,0.05,0.05,2021-05-01T00:00,0.10,G\n"
        "S,114,41,0.05,0.05,2021-05-01T12:00,0.20,G\n"
        "S,114,41,0.00,0.10,2021-05-01T06:00,0.30,G\n"  # mid 0.05: surface too
        "S,114,41,0.05,0.05,2021-05-02T00:00,0.90,C01\n"
        "S,114,41,0.30,0.30,2021-05-01T00:00,0.25,G\n"
        "S,114,41,1.50,1.50,2021-05-01T00:00,0.40,G\n"  # deeper than every layer
    )
    recs, counts = apply_quality_flags(read_station_csv(path).records)
    assert counts == {"C01": 1, "G": 5}
    daily = daily_layer_means(recs)
    got = {(r.layer, str(r.date.date())): (r.value, r.n) for r in daily.itertuples()}
    assert got == {
        ("surface", "2021-05-01"): (pytest.approx(0.2), 3),
        ("rootzone", "2021-05-01"): (pytest.approx(0.25), 1),
    }
    assert len(assign_layers(recs, {"top": (0.0, 0.2)})) == 4
    with pytest.raises(ConfigError, match="overlap"):
        assign_layers(recs, {"a": (0.0, 0.2), "b": (0.1, 0.5)})


def test_stations_outside_region_are_logged_and_left_out(caplog):
    daily = pd.DataFrame(
        {
            "station": ["in", "out", "in"],
            "lon": [114.0, 120.0, 114.0],
            "lat": [41.0, 41.0, 41.0],
            "layer": "surface",
            "date": pd.to_datetime(["2021-01-01"] * 3),
            "value": [0.1, 0.2, 0.3],
            "n": 1,
        }
    )
    with caplog.at_level(logging.WARNING):
        kept, left_out = select_in_region(daily, (113.25, 40.5, 115.25, 42.5))
    assert left_out == ["out"] and set(kept["station"]) == {"in"}
    assert "out at lon 120.0000" in caplog.text
    with pytest.raises(DataError, match="none of the 2 stations"):
        select_in_region(daily, (0, 0, 1, 1))
    assert np.isfinite(kept["value"]).all()
