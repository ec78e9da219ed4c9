"""Report pieces: quicklooks, comparison charts, HTML table, provenance."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
import yaml
from PIL import Image

from agrifactory.grid import Tile
from agrifactory.io.raster import write_grid_raster
from agrifactory.io.tables import write_table
from agrifactory.report import charts, maps, provenance, tables
from agrifactory.report.names import unit_label
from agrifactory.report.palettes import palette, rgba


def _comparison():
    return pd.DataFrame(
        {
            "level": "province",
            "adcode": ["130000", "140000", "150000", "210000", "100000"],
            "name": ["Hebei", "Shanxi", "Inner Mongolia", "Liaoning", "total"],
            "status": ["compared", "compared", "no statistic", "not mapped", "national total"],
            "coverage": [1.0, 1.0, 1.0, np.nan, 1.0],
            "mapped_kha": [105.0, 80.0, 40.0, np.nan, 225.0],
            "official_kha": [100.0, 100.0, np.nan, 30.0, 230.0],
            "difference_kha": [5.0, -20.0, np.nan, np.nan, -5.0],
            "relative_difference_pct": [5.0, -20.0, np.nan, np.nan, -2.17],
            "within_10pct": pd.array([True, False, pd.NA, pd.NA, True], dtype="boolean"),
        }
    )


def test_nice_scale_bar_lengths():
    assert maps.nice_length(12_000) == 2_000  # a quarter is 3 km -> 2 km
    assert maps.nice_length(30_000) == 5_000
    assert maps.nice_length(400) == 100
    assert maps.nice_length(4_000_000) == 1_000_000


def test_class_quicklook_uses_the_legend_colours(tmp_path):
    tile = Tile(10, 20, 6)
    arr = np.zeros(tile.grid().shape, np.uint8)
    arr[:, 100:] = 6  # east half wheat
    arr[:20, :20] = 255
    path = write_grid_raster(tmp_path / "croptype.tif", arr, tile.grid(), nodata=255)
    png = maps.quicklook_classes(path, tmp_path / "q.png", product="croptype", max_size=100)
    image = np.asarray(Image.open(png).convert("RGB"))
    colours = {tuple(c) for c in image.reshape(-1, 3)[::7].tolist()}
    assert rgba(palette("croptype")[6])[:3] in colours  # wheat
    assert rgba(palette("croptype")[0])[:3] in colours  # not cropland


def test_continuous_quicklook_with_colour_bar(tmp_path):
    tile = Tile(10, 20, 6)
    grid = tile.grid()
    ndvi = np.tile(np.linspace(-0.1, 0.9, grid.width, dtype=np.float32), (grid.height, 1))
    ndvi[:50, :50] = np.nan
    path = write_grid_raster(tmp_path / "ndvi.tif", ndvi, grid, nodata=np.nan, units="NDVI")
    png = maps.quicklook_continuous(path, tmp_path / "n.png", vmin=0, vmax=0.9)
    assert Image.open(png).size[0] > 400
    empty = write_grid_raster(
        tmp_path / "e.tif", np.full(grid.shape, np.nan, np.float32), grid, nodata=np.nan
    )
    with pytest.raises(ValueError, match="no valid values"):
        maps.quicklook_continuous(empty, tmp_path / "e.png")


def test_comparison_charts(tmp_path):
    table = _comparison()
    summary = {"r2_1to1": 0.5, "rmse_kha": 14.6}
    scatter = charts.comparison_scatter(table, tmp_path / "s.png", summary=summary)
    bars = charts.comparison_bars(table, tmp_path / "b.png")
    for png in (scatter, bars):
        image = np.asarray(Image.open(png).convert("RGB"))
        assert image.shape[0] > 200
        # both draw the within (green) and outside (red) colours
        colours = {tuple(c) for c in image.reshape(-1, 3).tolist()}
        assert rgba(charts.WITHIN)[:3] in colours and rgba(charts.OUTSIDE)[:3] in colours
    assert charts.table_unit(table) == "kha"
    assert charts.unit_labels(table.head(1)) == ["Hebei"]


@pytest.mark.parametrize(
    ("name", "adcode", "cjk", "label"),
    [
        ("河北省", "130000", False, "Hebei"),
        ("河北省", "130000", True, "河北省 Hebei"),
        ("康保县", "130723", False, "Hebei 130723"),
        ("康保县", "130723", True, "康保县"),
        ("nan", "150000", True, "Inner Mongolia"),
        ("某地", "990000", False, "990000"),  # no known province: the code stays
    ],
)
def test_units_are_labelled_by_name_not_code(name, adcode, cjk, label):
    assert unit_label(name, adcode, cjk=cjk) == label


def test_numbers_in_tables_read_as_what_they_are():
    assert tables._format(251.0, "n") == ("251", "num")  # a count read back as float
    assert tables._format(3.0, "n_reference")[0] == "3"
    assert tables._format(77.5, "coverage_pct")[0] == "77.5"  # a share: no sign
    assert tables._format(0.05, "coverage_pct")[0] == "0.05"  # never "0.000"
    assert tables._format(-3.21, "relative_difference_pct")[0] == "-3.2"
    assert tables._format(5.0, "relative_difference_pct")[0] == "+5.0"
    assert tables._format(True, "pixel_count_in_ci95", ("met", "missed"))[0] == "met"


def test_html_table_marks_rows(tmp_path):
    page = tables.write_html_table(
        _comparison(),
        tmp_path / "t.html",
        title="Provinces",
        caption="cropland",
        flag_column="within_10pct",
    ).read_text()
    assert page.count("<tr class=") == 5
    assert '<tr class="yes">' in page and '<tr class="no">' in page
    assert '<tr class="missing">' in page  # no statistic / not mapped
    assert '<tr class="yes total">' in page
    assert "+5.0" in page and "—" in page
    csv = write_table(_comparison(), tmp_path / "t.csv")
    assert pd.read_csv(csv, dtype={"adcode": str})["adcode"].tolist()[0] == "130000"


def test_provenance_record(tmp_path):
    inv = tmp_path / "landsat_inventory.csv"
    inv.write_text(
        "sensor,id,date,path,bands,footprint\n"
        "landsat,a,2021-01-05,x,,POLYGON EMPTY\nlandsat,b,2021-01-21,x,,POLYGON EMPTY\n"
        "modis,c,2021-01-01,y,,POLYGON EMPTY\n"
    )
    stats = tmp_path / "stats.csv"
    stats.write_text("adcode,cropland_kha,reference_date\n130000,1,2021-12-31\n")
    record = provenance.provenance(
        {"seed": 2021, "grid": {"tile_km": 15}}, inventories=[inv], inputs=[stats]
    )
    assert record["packages"]["exactextract"] != "not installed"
    assert "GDAL (rasterio)" in record["packages"]
    landsat = next(r for r in record["inventories"] if r["sensor"] == "landsat")
    assert (landsat["items"], landsat["first_date"], landsat["last_date"]) == (
        2,
        "2021-01-05",
        "2021-01-21",
    )
    assert len(record["inputs"][0]["sha256"]) == 64
    y = provenance.write_provenance(record, tmp_path / "provenance.yaml")
    assert yaml.safe_load(y.read_text())["config"]["grid"]["tile_km"] == 15
    j = provenance.write_provenance(record, tmp_path / "provenance.json")
    assert json.loads(j.read_text())["config"]["seed"] == 2021
    page = provenance.provenance_html(record, tmp_path / "provenance.html").read_text()
    assert "exactextract" in page and "tile_km: 15" in page
