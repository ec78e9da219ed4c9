"""Landsat Collection 2 Level-2 metadata files: JSON, XML and ODL text, as USGS writes them.

The snippets below are trimmed by hand from the layout of real C2 L2 MTL files
(LSDS-1618/1619): the groups and field names are the real ones, most fields of each
group are left out.
"""

import datetime as dt
import json

import numpy as np
import pandas as pd
import pytest

from agrifactory.errors import InputError
from agrifactory.ingest.mtl import date_scaling
from agrifactory.ingest.qa import NO_MTL, QaLog
from agrifactory.io import landsat as l8
from agrifactory.io import landsat_mtl as mtl

L8 = "LC08_L2SP_124031_20210105_20210115_02_T1"
L7 = "LE07_L2SP_123032_20010623_20200917_02_T1"
L5 = "LT05_L2SP_124031_19980712_20200908_02_T1"

L8_JSON = """{
    "LANDSAT_METADATA_FILE": {
        "PRODUCT_CONTENTS": {
            "ORIGIN": "Image courtesy of the U.S. Geological Survey",
            "DIGITAL_OBJECT_IDENTIFIER": "https://doi.org/10.5066/P9OGBGM6",
            "LANDSAT_PRODUCT_ID": "LC08_L2SP_124031_20210105_20210115_02_T1",
            "PROCESSING_LEVEL": "L2SP",
            "COLLECTION_NUMBER": "02",
            "COLLECTION_CATEGORY": "T1",
            "OUTPUT_FORMAT": "GEOTIFF",
            "FILE_NAME_BAND_4": "LC08_L2SP_124031_20210105_20210115_02_T1_SR_B4.TIF",
            "FILE_NAME_BAND_5": "LC08_L2SP_124031_20210105_20210115_02_T1_SR_B5.TIF",
            "FILE_NAME_BAND_ST_B10": "LC08_L2SP_124031_20210105_20210115_02_T1_ST_B10.TIF",
            "FILE_NAME_QUALITY_L1_PIXEL": "LC08_L2SP_124031_20210105_20210115_02_T1_QA_PIXEL.TIF",
            "FILE_NAME_METADATA_ODL": "LC08_L2SP_124031_20210105_20210115_02_T1_MTL.txt",
            "FILE_NAME_METADATA_XML": "LC08_L2SP_124031_20210105_20210115_02_T1_MTL.xml"
        },
        "IMAGE_ATTRIBUTES": {
            "SPACECRAFT_ID": "LANDSAT_8",
            "SENSOR_ID": "OLI_TIRS",
            "WRS_TYPE": "2",
            "WRS_PATH": "124",
            "WRS_ROW": "31",
            "NADIR_OFFNADIR": "NADIR",
            "DATE_ACQUIRED": "2021-01-05",
            "SCENE_CENTER_TIME": "03:03:47.4512340Z",
            "CLOUD_COVER": "0.25",
            "SUN_ELEVATION": "24.61587034"
        },
        "LEVEL2_SURFACE_REFLECTANCE_PARAMETERS": {
            "REFLECTANCE_MAXIMUM_BAND_4": "1.602213",
            "REFLECTANCE_MINIMUM_BAND_4": "-0.199972",
            "REFLECTANCE_MAXIMUM_BAND_5": "1.602213",
            "REFLECTANCE_MINIMUM_BAND_5": "-0.199972",
            "QUANTIZE_CAL_MAX_BAND_4": "65535",
            "QUANTIZE_CAL_MIN_BAND_4": "1",
            "QUANTIZE_CAL_MAX_BAND_5": "65535",
            "QUANTIZE_CAL_MIN_BAND_5": "1",
            "REFLECTANCE_MULT_BAND_4": "2.75e-05",
            "REFLECTANCE_MULT_BAND_5": "2.75e-05",
            "REFLECTANCE_ADD_BAND_4": "-0.200000",
            "REFLECTANCE_ADD_BAND_5": "-0.200000"
        },
        "LEVEL2_SURFACE_TEMPERATURE_PARAMETERS": {
            "TEMPERATURE_MAXIMUM_BAND_ST_B10": "372.999941",
            "TEMPERATURE_MINIMUM_BAND_ST_B10": "149.003418",
            "QUANTIZE_CAL_MAXIMUM_BAND_ST_B10": "65535",
            "QUANTIZE_CAL_MINIMUM_BAND_ST_B10": "1",
            "TEMPERATURE_MULT_BAND_ST_B10": "0.00341802",
            "TEMPERATURE_ADD_BAND_ST_B10": "149.000000"
        }
    }
}
"""

L7_XML = """<?xml version="1.0" encoding="UTF-8"?>
<LANDSAT_METADATA_FILE>
  <PRODUCT_CONTENTS>
    <ORIGIN>Image courtesy of the U.S. Geological Survey</ORIGIN>
    <LANDSAT_PRODUCT_ID>LE07_L2SP_123032_20010623_20200917_02_T1</LANDSAT_PRODUCT_ID>
    <PROCESSING_LEVEL>L2SP</PROCESSING_LEVEL>
    <FILE_NAME_BAND_3>LE07_L2SP_123032_20010623_20200917_02_T1_SR_B3.TIF</FILE_NAME_BAND_3>
    <FILE_NAME_BAND_4>LE07_L2SP_123032_20010623_20200917_02_T1_SR_B4.TIF</FILE_NAME_BAND_4>
  </PRODUCT_CONTENTS>
  <IMAGE_ATTRIBUTES>
    <SPACECRAFT_ID>LANDSAT_7</SPACECRAFT_ID>
    <SENSOR_ID>ETM</SENSOR_ID>
    <WRS_TYPE>2</WRS_TYPE>
    <WRS_PATH>123</WRS_PATH>
    <WRS_ROW>32</WRS_ROW>
    <DATE_ACQUIRED>2001-06-23</DATE_ACQUIRED>
  </IMAGE_ATTRIBUTES>
  <LEVEL2_SURFACE_REFLECTANCE_PARAMETERS>
    <REFLECTANCE_MAXIMUM_BAND_3>1.602213</REFLECTANCE_MAXIMUM_BAND_3>
    <REFLECTANCE_MINIMUM_BAND_3>-0.199972</REFLECTANCE_MINIMUM_BAND_3>
    <REFLECTANCE_MULT_BAND_3>2.75e-05</REFLECTANCE_MULT_BAND_3>
    <REFLECTANCE_MULT_BAND_4>2.75e-05</REFLECTANCE_MULT_BAND_4>
    <REFLECTANCE_ADD_BAND_3>-0.200000</REFLECTANCE_ADD_BAND_3>
    <REFLECTANCE_ADD_BAND_4>-0.200000</REFLECTANCE_ADD_BAND_4>
  </LEVEL2_SURFACE_REFLECTANCE_PARAMETERS>
  <LEVEL2_SURFACE_TEMPERATURE_PARAMETERS>
    <TEMPERATURE_MULT_BAND_ST_B6>0.00341802</TEMPERATURE_MULT_BAND_ST_B6>
    <TEMPERATURE_ADD_BAND_ST_B6>149.000000</TEMPERATURE_ADD_BAND_ST_B6>
  </LEVEL2_SURFACE_TEMPERATURE_PARAMETERS>
</LANDSAT_METADATA_FILE>
"""

L5_TXT = """GROUP = LANDSAT_METADATA_FILE
  GROUP = PRODUCT_CONTENTS
    ORIGIN = "Image courtesy of the U.S. Geological Survey"
    LANDSAT_PRODUCT_ID = "LT05_L2SP_124031_19980712_20200908_02_T1"
    PROCESSING_LEVEL = "L2SP"
    FILE_NAME_BAND_3 = "LT05_L2SP_124031_19980712_20200908_02_T1_SR_B3.TIF"
  END_GROUP = PRODUCT_CONTENTS
  GROUP = IMAGE_ATTRIBUTES
    SPACECRAFT_ID = "LANDSAT_5"
    SENSOR_ID = "TM"
    WRS_TYPE = 2
    WRS_PATH = 124
    WRS_ROW = 31
    DATE_ACQUIRED = 1998-07-12
    SCENE_CENTER_TIME = "02:47:40.9440380Z"
  END_GROUP = IMAGE_ATTRIBUTES
  GROUP = LEVEL2_SURFACE_REFLECTANCE_PARAMETERS
    REFLECTANCE_MULT_BAND_3 = 2.75e-05
    REFLECTANCE_ADD_BAND_3 = -0.200000
  END_GROUP = LEVEL2_SURFACE_REFLECTANCE_PARAMETERS
  GROUP = LEVEL2_SURFACE_TEMPERATURE_PARAMETERS
    TEMPERATURE_MULT_BAND_ST_B6 = 0.00341802
    TEMPERATURE_ADD_BAND_ST_B6 = 149.000000
  END_GROUP = LEVEL2_SURFACE_TEMPERATURE_PARAMETERS
END_GROUP = LANDSAT_METADATA_FILE
END
"""


def _write(folder, pid, suffix, text):
    path = folder / f"{pid}_{suffix}"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def test_json_is_read_back_exactly(tmp_path):
    m = mtl.read_mtl(_write(tmp_path, L8, "MTL.json", L8_JSON), L8, ["SR_B4", "ST_B10"])
    assert (m.product_id, m.spacecraft, m.sensor) == (L8, "LANDSAT_8", "OLI_TIRS")
    assert (m.acquired, m.wrs_path, m.wrs_row) == (dt.date(2021, 1, 5), 124, 31)
    assert m.scaling == {
        "SR_B4": (2.75e-05, -0.2),
        "SR_B5": (2.75e-05, -0.2),
        "ST_B10": (0.00341802, 149.0),
    }
    # The file's numbers are the documented constants to the last bit.
    assert m.scale_offset("SR_B4") == (l8.SR_SCALE, l8.SR_OFFSET)
    assert m.scale_offset("ST_B10") == (l8.ST_SCALE, l8.ST_OFFSET)


def test_xml_and_odl_text_of_tm_and_etm(tmp_path):
    m7 = mtl.read_mtl(_write(tmp_path, L7, "MTL.xml", L7_XML), L7)
    assert (m7.spacecraft, m7.sensor, m7.acquired) == ("LANDSAT_7", "ETM", dt.date(2001, 6, 23))
    assert (m7.wrs_path, m7.wrs_row) == (123, 32)
    assert m7.scaling == {
        "SR_B3": (2.75e-05, -0.2),
        "SR_B4": (2.75e-05, -0.2),
        "ST_B6": (0.00341802, 149.0),
    }
    m5 = mtl.read_mtl(_write(tmp_path, L5, "MTL.txt", L5_TXT), L5, ["SR_B3", "ST_B6"])
    assert (m5.spacecraft, m5.sensor, m5.acquired) == ("LANDSAT_5", "TM", dt.date(1998, 7, 12))
    assert m5.scaling == {"SR_B3": (2.75e-05, -0.2), "ST_B6": (0.00341802, 149.0)}


def test_the_files_own_numbers_are_used(tmp_path):
    text = L8_JSON.replace(
        '"REFLECTANCE_MULT_BAND_5": "2.75e-05"', '"REFLECTANCE_MULT_BAND_5": "5e-05"'
    )
    m = mtl.read_mtl(_write(tmp_path, L8, "MTL.json", text), L8)
    assert m.scale_offset("SR_B5") == (5e-05, -0.2)
    # 20000 * 5e-5 - 0.2 = 0.8
    np.testing.assert_allclose(l8.reflectance(np.array([20000]), *m.scale_offset("SR_B5")), 0.8)


def test_find_mtl_prefers_json_then_xml_then_text(tmp_path):
    assert mtl.find_mtl(tmp_path, L8) is None
    _write(tmp_path, L8, "MTL.txt", "")
    assert mtl.find_mtl(tmp_path, L8).name == f"{L8}_MTL.txt"
    _write(tmp_path, L8, "MTL.xml", "")
    assert mtl.find_mtl(tmp_path, L8).name == f"{L8}_MTL.xml"
    _write(tmp_path, L8, "MTL.json", "")
    assert mtl.find_mtl(tmp_path, L8).name == f"{L8}_MTL.json"


@pytest.mark.parametrize(
    ("suffix", "text", "message"),
    [
        ("MTL.json", L8_JSON[:200], "not valid JSON"),
        ("MTL.json", '{"PRODUCT_CONTENTS": {}}', "no top-level 'LANDSAT_METADATA_FILE' object"),
        ("MTL.xml", "<LANDSAT_METADATA_FILE><PRODUCT_CONTENTS>", "not valid XML"),
        ("MTL.xml", "<METADATA/>", "root element is <METADATA>"),
        ("MTL.txt", L5_TXT.replace("END_GROUP = IMAGE_ATTRIBUTES", "END_GROUP = X"), "line 16"),
        (
            "MTL.txt",
            "GROUP = PRODUCT_CONTENTS\nEND_GROUP = PRODUCT_CONTENTS\n",
            "no GROUP = LANDSAT",
        ),
        ("MTL.json", L8_JSON.replace('"2021-01-05"', '"05/01/2021"'), "DATE_ACQUIRED '05/01/2021'"),
        ("MTL.json", L8_JSON.replace('"WRS_ROW": "31",', ""), "no IMAGE_ATTRIBUTES/WRS_ROW"),
        (
            "MTL.json",
            L8_JSON.replace('"-0.200000"\n', '"n/a"\n'),
            "REFLECTANCE_ADD_BAND_5 = 'n/a' is not a number",
        ),
        (
            "MTL.json",
            L8_JSON.replace('"REFLECTANCE_ADD_BAND_5": "-0.200000"', '"X": "1"'),
            "no LEVEL2_SURFACE_REFLECTANCE_PARAMETERS/REFLECTANCE_ADD_BAND_5",
        ),
    ],
)
def test_malformed_files_are_named(tmp_path, suffix, text, message):
    path = _write(tmp_path, L8, suffix, text)
    with pytest.raises(InputError, match=message) as err:
        mtl.read_mtl(path)
    assert err.value.path == path


def test_another_scenes_file_or_a_missing_band_is_refused(tmp_path):
    path = _write(tmp_path, L8, "MTL.json", L8_JSON)
    other = "LC08_L2SP_124031_20210121_20210130_02_T1"
    with pytest.raises(InputError, match=f"LANDSAT_PRODUCT_ID is {L8}, but the scene is {other}"):
        mtl.read_mtl(path, other)
    with pytest.raises(InputError, match="no scale/offset for band SR_B2") as err:
        mtl.read_mtl(path, L8, ["SR_B4", "SR_B2"])
    assert err.value.path == path


def test_written_document_reads_back_with_the_constants(tmp_path):
    pid = l8.parse_product_id(L8)
    suffixes = ("SR_B2", "SR_B4", "SR_B5", "ST_B10", "QA_PIXEL", "QA_RADSAT")
    path = mtl.write_mtl_json(tmp_path, pid, suffixes)
    assert path.name == f"{L8}_MTL.json"
    m = mtl.read_mtl(path, L8, ["SR_B2", "SR_B4", "SR_B5", "ST_B10"])
    assert (m.spacecraft, m.sensor, m.acquired) == ("LANDSAT_8", "OLI_TIRS", dt.date(2021, 1, 5))
    assert (m.wrs_path, m.wrs_row) == (124, 31)
    assert m.scaling == {
        "SR_B2": (l8.SR_SCALE, l8.SR_OFFSET),
        "SR_B4": (l8.SR_SCALE, l8.SR_OFFSET),
        "SR_B5": (l8.SR_SCALE, l8.SR_OFFSET),
        "ST_B10": (l8.ST_SCALE, l8.ST_OFFSET),
    }
    doc = json.loads(path.read_text())["LANDSAT_METADATA_FILE"]
    contents = doc["PRODUCT_CONTENTS"]
    assert contents["FILE_NAME_BAND_4"] == f"{L8}_SR_B4.TIF"
    assert contents["FILE_NAME_BAND_ST_B10"] == f"{L8}_ST_B10.TIF"
    assert contents["FILE_NAME_QUALITY_L1_PIXEL"] == f"{L8}_QA_PIXEL.TIF"
    assert contents["FILE_NAME_QUALITY_L1_RADIOMETRIC_SATURATION"] == f"{L8}_QA_RADSAT.TIF"
    # The same numbers as the real files, as text.
    refl = doc["LEVEL2_SURFACE_REFLECTANCE_PARAMETERS"]
    assert (refl["REFLECTANCE_MULT_BAND_4"], refl["REFLECTANCE_ADD_BAND_4"]) == (
        "2.75e-05",
        "-0.200000",
    )
    assert (refl["REFLECTANCE_MAXIMUM_BAND_4"], refl["REFLECTANCE_MINIMUM_BAND_4"]) == (
        "1.602213",
        "-0.199972",
    )
    temp = doc["LEVEL2_SURFACE_TEMPERATURE_PARAMETERS"]
    assert temp["TEMPERATURE_MULT_BAND_ST_B10"] == "0.00341802"
    assert temp["TEMPERATURE_MAXIMUM_BAND_ST_B10"] == "372.999941"
    # TM/ETM+ ids give their spacecraft and sensor
    etm = mtl.mtl_document(l8.parse_product_id(L7), ["SR_B3", "ST_B6"])["LANDSAT_METADATA_FILE"]
    assert etm["IMAGE_ATTRIBUTES"]["SPACECRAFT_ID"] == "LANDSAT_7"
    assert etm["IMAGE_ATTRIBUTES"]["SENSOR_ID"] == "ETM"
    assert "TEMPERATURE_ADD_BAND_ST_B6" in etm["LEVEL2_SURFACE_TEMPERATURE_PARAMETERS"]


def _row(folder, pid, bands):
    date = dt.datetime.strptime(pid[17:25], "%Y%m%d").date()
    return {"sensor": "landsat", "id": pid, "date": date, "path": str(folder), "bands": bands}


def test_date_scaling_uses_the_mtl_or_records_its_absence(tmp_path):
    qa = QaLog("h624v246", 2021)
    _write(tmp_path / "a", L8, "MTL.json", L8_JSON)
    rows = pd.DataFrame([_row(tmp_path / "a", L8, "MTL;QA_PIXEL;SR_B4;SR_B5;ST_B10")])
    assert date_scaling(rows, qa) == {
        "red": (2.75e-05, -0.2),
        "nir": (2.75e-05, -0.2),
        "thermal": (0.00341802, 149.0),
    }
    assert qa.records == []
    # The same date from the neighbouring row, without a metadata file: the constants, one record.
    other = L8.replace("124031", "124032")
    rows = pd.concat([rows, pd.DataFrame([_row(tmp_path / "b", other, "SR_B2;SR_B4;SR_B5")])])
    for _ in range(2):  # a date read again records nothing new
        scaling = date_scaling(rows, qa)
    assert scaling["blue"] == (l8.SR_SCALE, l8.SR_OFFSET) and scaling["red"] == (2.75e-05, -0.2)
    (record,) = qa.records
    assert (record["id"], record["problem"], record["file"]) == (other, NO_MTL, str(tmp_path / "b"))
    assert "documented Collection 2 constants" in record["detail"]


def test_date_scaling_refuses_scenes_that_disagree_or_a_listed_mtl_that_is_gone(tmp_path):
    qa = QaLog("h624v246", 2021)
    text = L8_JSON.replace(
        '"REFLECTANCE_MULT_BAND_4": "2.75e-05"', '"REFLECTANCE_MULT_BAND_4": "3e-05"'
    )
    path = _write(tmp_path / "a", L8, "MTL.json", text)
    other = L8.replace("124031", "124032")
    rows = pd.DataFrame(
        [_row(tmp_path / "b", other, "SR_B4;SR_B5"), _row(tmp_path / "a", L8, "MTL;SR_B4;SR_B5")]
    )
    with pytest.raises(InputError, match="red is scaled by \\(3e-05, -0.2\\)") as err:
        date_scaling(rows, qa)
    assert err.value.path == path
    path.unlink()
    with pytest.raises(InputError, match="lists a metadata file \\(MTL\\) but none"):
        date_scaling(rows, qa)


def test_a_scene_without_mtl_takes_the_provider_profiles_scaling(tmp_path):
    from agrifactory.acquire.rules import AcquireSettings, product_scaling

    settings = AcquireSettings.build(
        {
            "provider": "mine",
            "providers": {
                "mine": {
                    "api_url": "http://x",
                    "landsat": {"reflectance_scale_offset": [2e-5, -0.1]},
                    "modis": {"scale": 2e-4},
                }
            },
        },
        "acquire",
    )
    fallback = product_scaling(settings)
    assert fallback.modis == 2e-4 and fallback.temperature == (0.00341802, 149.0)
    qa = QaLog("h624v246", 2021)
    rows = pd.DataFrame([_row(tmp_path / "b", L8, "SR_B4;SR_B5;ST_B10")])
    scaling = date_scaling(rows, qa, fallback)
    assert scaling["red"] == (2e-5, -0.1) and scaling["thermal"] == (0.00341802, 149.0)
    assert [r["problem"] for r in qa.records] == ["no_mtl"]
