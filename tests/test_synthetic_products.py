"""The demo world's third-party cropland products and reference blocks: real file layouts,
the error patterns they promise, and reference fractions that are the truth's."""

import re

import geopandas as gpd
import numpy as np
import pytest
import rasterio
from pyproj import CRS, Transformer
from rasterio import features

from agrifactory import boundaries, legend
from agrifactory.errors import ConfigError
from agrifactory.grid import ALBERS, tiles_for_aoi
from agrifactory.synthetic import products
from agrifactory.synthetic.world import WorldSpec, build_world

# config/test.yaml's world: 2 x 2 tiles of 6 km on the Hebei / Inner Mongolia border.
TILES = tuple(tiles_for_aoi([114.169, 41.64, 114.282, 41.71], 6))
WORLDCOVER = "worldcover/ESA_WorldCover_10m_2021_v200_N39E114_Map.tif"
CLCD = {
    "130000": "clcd/CLCD_v01_2021_albert_hebei.tif",
    "150000": "clcd/CLCD_v01_2021_albert_innermongolia.tif",
}
GFSAD = "gfsad/gfsad_cropland_2020.tif"


@pytest.fixture(scope="module")
def world():
    return build_world(WorldSpec(tiles=TILES, year=2021, seed=2021, margin_km=2.1))


@pytest.fixture(scope="module")
def provinces():
    return boundaries.load_units("province", province_adcodes=["130000", "150000"])


@pytest.fixture(scope="module")
def written(world, provinces, tmp_path_factory):
    out = tmp_path_factory.mktemp("products")
    editions = {"worldcover": 2021, "clcd": 2021, "gfsad": 2020}
    return out, products.write_products(world, out, provinces, editions)


def _read(path):
    with rasterio.open(path) as src:
        return src.read(1), src.profile, src.tags(), src.colormap(1), src.res


def test_files_are_named_and_laid_out_like_the_real_products(written):
    out, paths = written
    found = sorted(str(p.relative_to(out)) for p in out.rglob("*.tif"))
    assert found == sorted([WORLDCOVER, *CLCD.values(), GFSAD])
    assert sorted(str(p.relative_to(out)) for ps in paths.values() for p in ps) == found


@pytest.mark.parametrize(
    ("name", "crs", "res", "nodata", "year", "leg", "colours"),
    [
        (
            WORLDCOVER,
            "EPSG:4326",
            1 / 12000,
            0,
            2021,
            products.WORLDCOVER_LEGEND,
            products.WORLDCOVER_COLOURS,
        ),
        (CLCD["130000"], None, 30.0, 0, 2021, products.CLCD_LEGEND, products.CLCD_COLOURS),
        (CLCD["150000"], None, 30.0, 0, 2021, products.CLCD_LEGEND, products.CLCD_COLOURS),
        (GFSAD, "EPSG:4326", 0.0025, 255, 2020, products.GFSAD_LEGEND, products.GFSAD_COLOURS),
    ],
)
def test_every_file_has_its_crs_pixel_nodata_tags_and_legend(
    written, name, crs, res, nodata, year, leg, colours
):
    data, profile, tags, cmap, pixel = _read(written[0] / name)
    want_crs = CRS.from_user_input(crs) if crs else products.CLCD_CRS
    assert CRS.from_user_input(profile["crs"]).equals(want_crs)
    assert pixel == pytest.approx((res, res), rel=1e-12)
    assert profile["nodata"] == nodata and profile["dtype"] == "uint8"
    assert tags["year"] == str(year)
    assert {k: v for k, v in tags.items() if k.startswith("class_")} == {
        f"class_{k}": v for k, v in leg.items()
    }
    assert set(np.unique(data)) <= {*leg, nodata}
    assert all(cmap[k][:3] == rgb for k, rgb in colours.items())


def test_geographic_files_lie_on_their_lattice_and_cover_the_world(world, written):
    for name, per_degree in ((WORLDCOVER, 12000), (GFSAD, 400)):
        with rasterio.open(written[0] / name) as src:
            t, bounds = src.transform, src.bounds
        for corner in (t.c, t.f):
            assert corner * per_degree == pytest.approx(round(corner * per_degree), abs=1e-6)
        w, s, e, n = rasterio.warp.transform_bounds(ALBERS, "EPSG:4326", *world.grid.bounds)
        assert bounds.left <= w and bounds.bottom <= s and bounds.right >= e and bounds.top >= n
    # the WorldCover window lies inside its tile, N39E114: 114-117 E, 39-42 N
    with rasterio.open(written[0] / WORLDCOVER) as src:
        assert 114 <= src.bounds.left and src.bounds.right <= 117
        assert 39 <= src.bounds.bottom and src.bounds.top <= 42


def test_worldcover_tile_names_follow_the_lower_left_corner():
    assert products.worldcover_name(2021, 114, 39).endswith("_v200_N39E114_Map.tif")
    assert products.worldcover_name(2020, -75, -6) == "ESA_WorldCover_10m_2020_v200_S06W075_Map.tif"


def _worldcover_on_world(world, path):
    """WorldCover's values and the world pixel under each of its pixel centres, for
    centres well inside a world pixel (away from the nearest-neighbour ties)."""
    with rasterio.open(path) as src:
        data, t = src.read(1), src.transform
    rows, cols = np.indices(data.shape)
    lon, lat = t * (cols.ravel() + 0.5, rows.ravel() + 0.5)
    x, y = Transformer.from_crs("EPSG:4326", ALBERS, always_xy=True).transform(lon, lat)
    g = world.grid
    fc, fr = (x - g.x_min) / g.res, (g.y_max - y) / g.res
    inside = (fc > 0) & (fr > 0) & (fc < g.width) & (fr < g.height)
    interior = inside & (np.abs(fc % 1 - 0.5) < 0.4) & (np.abs(fr % 1 - 0.5) < 0.4)
    r, c = fr[interior].astype(int), fc[interior].astype(int)
    return data.ravel()[interior], world.landcover[r, c], world.field_id[r, c]


def test_worldcover_marks_cropland_on_whole_grassland_fields_and_nowhere_else(world, written):
    wc, truth, fid = _worldcover_on_world(world, written[0] / WORLDCOVER)
    code = {name: legend.code_of(legend.LANDCOVER, name) for name in legend.LANDCOVER.values()}
    for name in ("cropland", "forest", "water", "built_up"):
        assert (wc[truth == code[name]] == products.TO_WORLDCOVER[name]).all()
    grass = truth == code["grassland"]
    assert set(np.unique(wc[grass])) == {30, 40}
    labels = {f: set(np.unique(wc[grass & (fid == f)])) for f in np.unique(fid[grass])}
    assert all(len(v) == 1 for v in labels.values())  # whole fields
    n_grass = np.unique(world.field_id[world.landcover == code["grassland"]]).size
    assert len(labels) == n_grass
    assert sum(v == {40} for v in labels.values()) == round(0.3 * n_grass)


def _clcd(written, adcode):
    return _read(written[0] / CLCD[adcode])[0]


def test_clcd_lies_15_m_off_the_factory_lattice(world, written):
    with rasterio.open(written[0] / CLCD["130000"]) as src:
        t = src.transform
    assert (t.c - world.grid.x_min, t.f - world.grid.y_max) == (-15.0, 15.0)


def test_clcd_has_no_cropland_in_fields_under_150_px(world, written):
    # A CLCD pixel's centre is a corner of four world pixels: nearest takes one of them.
    crop = world.cropland() == 1
    sizes = np.bincount(world.field_id.ravel())
    big = np.pad(crop & (sizes[world.field_id] >= 150), 1)
    any_big = big[:-1, :-1] | big[1:, :-1] | big[:-1, 1:] | big[1:, 1:]
    small_only = np.pad(crop & (sizes[world.field_id] < 150), 1)
    all_small = small_only[:-1, :-1] & small_only[1:, :-1] & small_only[:-1, 1:]
    all_small &= small_only[1:, 1:]
    assert all_small.any()
    for adcode in CLCD:
        clcd = _clcd(written, adcode)
        assert (clcd == 1).any()
        assert not ((clcd == 1) & ~any_big).any()
        assert set(np.unique(clcd[all_small])) <= {0, 4}  # grassland, or outside


def _cropland_ratio(world, written, provinces, adcode):
    """CLCD's cropland share in a province over the truth's."""
    clcd = _clcd(written, adcode)
    albers = provinces.to_crs(world.grid.crs).set_index("adcode")
    inside = features.rasterize(
        [(albers.geometry[adcode], 1)], out_shape=world.grid.shape, transform=world.grid.transform
    ).astype(bool)
    truth = world.cropland()[inside].mean()
    return (clcd[clcd > 0] == 1).mean() / truth


def test_clcd_maps_less_cropland_in_inner_mongolia_than_elsewhere(world, written, provinces):
    hebei = _cropland_ratio(world, written, provinces, "130000")
    inner_mongolia = _cropland_ratio(world, written, provinces, "150000")
    assert inner_mongolia < 1 and hebei < 1  # small parcels omitted everywhere
    assert inner_mongolia < hebei - 0.08  # and a fifth of the rest in Inner Mongolia


def test_clcd_bias_drops_a_fifth_of_inner_mongolia_s_large_cropland_fields(world, provinces):
    codes = products.clcd_codes(world, provinces)
    crop = world.cropland() == 1
    sizes = np.bincount(world.field_id.ravel())
    large = crop & (sizes[world.field_id] >= 150)
    lost = np.unique(world.field_id[large & (codes["150000"] == 4)])
    assert not (large & (codes["130000"] != 1)).any()
    albers = provinces.to_crs(world.grid.crs).set_index("adcode")
    in_im = features.rasterize(
        [(albers.geometry["150000"], 1)], out_shape=world.grid.shape, transform=world.grid.transform
    ).astype(bool)
    candidates = np.unique(world.field_id[large & in_im])
    assert set(lost) <= set(candidates) and lost.size == round(0.2 * candidates.size)


def test_gfsad_classes_by_hand():
    crop = np.array([0.5, 0.49, 0.2, 0.6, 0.1, np.nan])
    water = np.array([0.0, 0.0, 0.6, 0.4, 0.5, np.nan])
    np.testing.assert_array_equal(products.gfsad_classes(crop, water), [2, 1, 0, 2, 1, 255])


def test_gfsad_maps_the_year_before(world, written):
    previous = products.gfsad_previous_cropland(world)
    crop, grass = world.landcover == 1, world.landcover == 2
    fid = world.field_id
    n_crop, n_grass = np.unique(fid[crop]).size, np.unique(fid[grass]).size
    assert np.unique(fid[crop & ~previous]).size == round(0.1 * n_crop)
    assert np.unique(fid[grass & previous]).size == round(0.05 * n_grass)
    assert not (previous & ~(crop | grass)).any()
    data, profile, tags, _, _ = _read(written[0] / GFSAD)
    assert tags["year"] == "2020"
    valid = data != 255
    assert abs((data[valid] == 2).mean() - previous.mean()) < 0.1


@pytest.fixture(scope="module")
def blocks(world, tmp_path_factory):
    path = tmp_path_factory.mktemp("reference") / "reference_blocks.gpkg"
    products.write_reference_blocks(world, path, 1500)
    return gpd.read_file(path, layer="blocks")


def test_reference_blocks_are_60_percent_of_every_tile_split_in_halves(world, blocks):
    assert list(blocks.columns) == ["block_id", "tile", "cropland_fraction", "split", "geometry"]
    assert CRS.from_user_input(blocks.crs).equals(world.grid.crs)
    assert blocks["block_id"].is_unique
    assert all(re.fullmatch(r"h\d{3}v\d{3}_r\d{2}c\d{2}", b) for b in blocks["block_id"])
    assert blocks.groupby("tile").size().to_dict() == {t.id: round(0.6 * 16) for t in TILES}
    assert blocks["split"].value_counts().to_dict() == {"train": 20, "validation": 20}
    assert blocks["cropland_fraction"].dtype == np.float64
    assert np.allclose(blocks.area, 1500.0**2)


def test_reference_block_fraction_is_the_truth_s_share_of_cropland(world, blocks):
    g = world.grid
    tiles = {t.id: t for t in TILES}
    for _, b in blocks.iloc[[0, 17, 39]].iterrows():
        tile = tiles[b["tile"]]
        r, c = (int(v) for v in re.fullmatch(r".*_r(\d{2})c(\d{2})", b["block_id"]).groups())
        x0, _, _, y1 = tile.bounds
        assert b.geometry.bounds == (
            x0 + 1500 * c,
            y1 - 1500 * (r + 1),
            x0 + 1500 * (c + 1),
            y1 - 1500 * r,
        )
        bx0, by0, _, by1 = b.geometry.bounds
        row, col = round((g.y_max - by1) / 30), round((bx0 - g.x_min) / 30)
        window = world.landcover[row : row + 50, col : col + 50]
        assert b["cropland_fraction"] == (window == 1).sum() / 2500


def test_reference_blocks_refuse_a_block_that_does_not_divide_the_tile(world):
    for block_m in (2400, 1005):  # 6 km tiles
        with pytest.raises(ConfigError, match="integration.block_m"):
            products.reference_blocks(world, block_m)


def test_products_do_not_depend_on_the_world_s_year(tmp_path):
    # The land is the same every year: a world built without a year gives the same file.
    a = products.write_gfsad(
        build_world(WorldSpec(tiles=TILES, year=None, seed=2021, margin_km=2.1)),
        tmp_path / "a",
        2020,
    )
    b = products.write_gfsad(
        build_world(WorldSpec(tiles=TILES, year=2021, seed=2021, margin_km=2.1)),
        tmp_path / "b",
        2020,
    )
    assert a.read_bytes() == b.read_bytes()


def test_editions_from_the_config_or_from_the_first_year():
    from agrifactory.integration.rules import ProductSettings
    from agrifactory.synthetic.rules import demo_editions

    declared = [ProductSettings(name="clcd", path="x", year=2019, legend={"cropland": [1]})]
    assert demo_editions(declared, 2023) == {"worldcover": 2023, "clcd": 2019, "gfsad": 2022}
