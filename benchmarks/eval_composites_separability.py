"""How separable the demo's crops are with monthly median composites: NDVI months vs all bands.

A demo world of one tile of config/config.yaml (15 km, the demo's margin, seed 2021,
year 2021; its eastern half is the eastern sub-region, 12 days later) is rendered
scene by scene on the world grid (no files, no warping); an observation is
clear where its QA_PIXEL flags no fill, cloud, shadow or snow and QA_RADSAT no
saturation (the ingest's default mask; thin cloud edges and haze that QA misses stay
in, as in the factory, whose quality mask is not applied here). The monthly composites
of one tile (:mod:`agrifactory.timeseries.composites`) feed LightGBM in a 3-fold
cross-validation grouped by field, on the truth's crop type of field-interior
cropland pixels (a measurement for the docs; the workflow never reads the truth).

    PYTHONPATH=src python benchmarks/eval_composites_separability.py [tile] [n_pixels]
"""

import sys
import time

import numpy as np
import yaml
from sklearn.metrics import accuracy_score, f1_score
from sklearn.model_selection import GroupKFold

from agrifactory import legend
from agrifactory.grid import Tile
from agrifactory.io import landsat as l8
from agrifactory.synthetic.demo import scene_plans, world_spec
from agrifactory.synthetic.landsat import render_scene
from agrifactory.synthetic.samples import _interior
from agrifactory.synthetic.world import build_world
from agrifactory.timeseries.composites import (
    MONTHLY_BANDS,
    fill_single_gaps,
    monthly_band_names,
    monthly_medians,
    observation_indices,
)

TILE = sys.argv[1] if len(sys.argv) > 1 else "h249v098"
N_PIXELS = int(sys.argv[2]) if len(sys.argv) > 2 else 12_000
YEAR, SEED = 2021, 2021


def tile_window(world, tile):
    """Row and column slices of ``tile`` in the world grid."""
    g = world.grid
    x0, _, _, y1 = tile.bounds
    c0, r0 = round((x0 - g.x_min) / g.res), round((g.y_max - y1) / g.res)
    n = tile.grid().width
    return slice(r0, r0 + n), slice(c0, c0 + n)


def composites(world, win):
    """Monthly medians (bands x 12, rows, cols) of the tile from every 2021 scene."""
    cfg = yaml.safe_load(open("config/config.yaml"))
    plans = [p for p in scene_plans(cfg["demo_world"], YEAR, 0) if p.date.year == YEAR]
    values = {n: [] for n in MONTHLY_BANDS}
    clear, months = [], []
    for p in plans:
        b = render_scene(world, p.date, p.product_id)
        qa = l8.decode_qa_pixel(b["qa_pixel"][win])
        bad = qa["fill"] | qa["cloud"] | qa["shadow"] | qa["snow"]
        bad |= l8.saturated(b["qa_radsat"][win], [4, 5])
        clear.append(~bad & np.isfinite(b["red"][win]))
        for n in ("blue", "green", "red", "nir", "swir1", "swir2"):
            values[n].append(b[n][win])
        months.append(p.date.month - 1)
    values = {n: np.stack(v) for n, v in values.items() if v}
    values.update(observation_indices(values))
    medians, counts = monthly_medians(values, np.stack(clear), np.array(months))
    filled, flags = fill_single_gaps(medians, counts)
    return filled.reshape(len(MONTHLY_BANDS) * 12, *filled.shape[2:]), flags, len(plans)


def cross_validate(x, y, groups, seed=0):
    """OA and per-class F1 of LightGBM in 3 folds grouped by field."""
    import lightgbm as lgb

    pred = np.zeros_like(y)
    for train, test in GroupKFold(n_splits=3).split(x, y, groups):
        model = lgb.LGBMClassifier(
            n_estimators=200,
            learning_rate=0.05,
            num_leaves=31,
            random_state=seed,
            verbose=-1,
            n_jobs=2,
        )
        model.fit(x[train], y[train])
        pred[test] = model.predict(x[test])
    return accuracy_score(y, pred), f1_score(y, pred, average=None, labels=np.unique(y))


def main():
    t0 = time.time()
    cfg = yaml.safe_load(open("config/config.yaml"))
    world = build_world(world_spec(cfg["demo_world"], [Tile.from_id(TILE, 15)], YEAR, SEED))
    win = tile_window(world, Tile.from_id(TILE, 15))
    stack, flags, n_scenes = composites(world, win)
    crop = world.croptype[win]
    keep = (crop > 0) & _interior(world)[win]
    rows, cols = np.nonzero(keep)
    rng = np.random.default_rng(0)
    pick = rng.choice(rows.size, min(N_PIXELS, rows.size), replace=False)
    rows, cols = rows[pick], cols[pick]
    x_all = stack[:, rows, cols].T
    y = crop[rows, cols].astype(int)
    groups = world.field_id[win][rows, cols]
    names = monthly_band_names()
    ndvi_cols = [i for i, n in enumerate(names) if n.startswith("monthly_ndvi_")]
    print(
        f"tile {TILE}: {n_scenes} scenes in {YEAR}, {rows.size} interior crop pixels "
        f"of {np.unique(groups).size} fields"
    )
    share = [(flags == f).mean() for f in (0, 1, 2)]
    print(
        "pixel-months observed / interpolated / unfilled: " + " / ".join(f"{s:.3f}" for s in share)
    )
    labels = [legend.CROPTYPE[c] for c in np.unique(y)]
    first = [i for i, n in enumerate(names) if n.split("_")[1] not in ("nbr", "ndti", "grvi")]
    sets = (
        ("NDVI months", x_all[:, ndvi_cols]),
        ("bands + NDVI, NDWI, EVI", x_all[:, first]),
        ("all bands", x_all),
    )
    for what, x in sets:
        oa, f1 = cross_validate(x, y, groups)
        per = ", ".join(f"{n} {v:.3f}" for n, v in zip(labels, f1, strict=True))
        print(f"{what:24s} ({x.shape[1]:3d} features): OA {oa:.3f}; F1 {per}")
    print(f"{time.time() - t0:.0f} s")


if __name__ == "__main__":
    main()
