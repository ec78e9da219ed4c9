"""CSV/Parquet tables: round trip by suffix, atomic writes, clear errors."""

import pandas as pd
import pytest

from agrifactory.errors import InputError
from agrifactory.io.tables import read_table, write_table


@pytest.mark.parametrize("suffix", [".csv", ".parquet"])
def test_round_trip_keeps_rows_and_leaves_no_temporary(tmp_path, suffix):
    table = pd.DataFrame({"tile": ["h1v1", "h2v1"], "area_km2": [1.5, 2.25]})
    path = write_table(table, tmp_path / f"t{suffix}")
    pd.testing.assert_frame_equal(read_table(path, "test table", "rerun"), table)
    assert [p.name for p in tmp_path.iterdir()] == [f"t{suffix}"]


def test_unknown_suffix_is_refused(tmp_path):
    with pytest.raises(ValueError, match=r"t\.txt.*\.csv or \.parquet"):
        write_table(pd.DataFrame({"a": [1]}), tmp_path / "t.txt")


def test_missing_and_corrupt_files_name_the_file_and_the_remedy(tmp_path):
    with pytest.raises(InputError, match=r"nope\.csv.*not found.*rerun the x rule"):
        read_table(tmp_path / "nope.csv", "x table", "rerun the x rule")
    bad = tmp_path / "bad.parquet"
    bad.write_bytes(b"not parquet")
    with pytest.raises(InputError, match=r"bad\.parquet.*cannot be read as a x table.*corrupt"):
        read_table(bad, "x table", "rerun the x rule")
