"""The soil-moisture stage from files to files: what the four workflow rules call.

* :func:`train_downscaler_from_files` (rule ``sm_train``): reanalysis + drivers
  over the soil-moisture region -> one LightGBM model per layer (JSON).
* :func:`downscale_tile` (rule ``sm_downscale``): model + reanalysis + drivers
  -> daily 1 km soil moisture of one tile and year (NetCDF).
* :func:`train_bias_correction` (rule ``sm_bias_train``): model + reanalysis +
  drivers + stations -> the bias-correction CNN (``.pt``), the leave-stations-out
  evaluation table (CSV) and the station time series (CSV).
* :func:`calibrate_tile` (rule ``sm_calibrate``): a downscaled tile + CNN +
  drivers (+ neighbouring tiles) -> calibrated daily 1 km soil moisture (NetCDF).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import torch

from agrifactory.errors import ConfigError, DataError, InputError
from agrifactory.grid import Tile
from agrifactory.io.stations import (
    apply_quality_flags,
    daily_layer_means,
    read_stations,
    select_in_region,
)
from agrifactory.io.tables import write_table
from agrifactory.soil_moisture.cnn import (
    BiasCorrector,
    CorrectorEnsemble,
    copy_corrector,
    fit,
    new_corrector,
)
from agrifactory.soil_moisture.downscale import (
    DEFAULT_ROUNDS,
    DownscalerModel,
    predict_block,
    residual_correction,
    train_downscaler,
    train_layer,
)
from agrifactory.soil_moisture.drivers import aggregate_drivers, sample_drivers, year_days
from agrifactory.soil_moisture.evaluate import cv_splits, summarise
from agrifactory.soil_moisture.features import FeatureBlock, feature_block
from agrifactory.soil_moisture.lattice import (
    Pixels,
    cell_members,
    grid_lattice_origin,
    grid_pixels,
    lattice_lonlat,
    lattice_pixel_of,
    lookup,
    make_pixels,
)
from agrifactory.soil_moisture.netcdf import read_sm_netcdf, write_sm_netcdf
from agrifactory.soil_moisture.patches import (
    channel_stack,
    fill_missing,
    grid_patches,
    patch_offsets,
    station_patches,
)
from agrifactory.soil_moisture.reference import (
    DEFAULT_LAYERS,
    Reference,
    check_layers,
    load_reference,
)
from agrifactory.soil_moisture.rules import (
    BiasCorrectionSettings,
    FinetuneSettings,
    SoilMoistureSettings,
    StationSettings,
)

log = logging.getLogger(__name__)

Files = Mapping[str, str | Path | Sequence[str | Path]]
StationPaths = str | Path | Sequence[str | Path]
#: The section's defaults (what a library call without ``settings`` uses).
DEFAULTS = SoilMoistureSettings()
#: Float format of the evaluation and series tables.
TABLE_FLOAT_FORMAT = "%.5f"


# --------------------------------------------------------------------------- downscaling


def coarse_features(
    drivers: Mapping[str, str | Path], ref: Reference, *, min_coverage: float
) -> FeatureBlock:
    """Drivers aggregated to the reanalysis cells, with the cell centres as location."""
    values = aggregate_drivers(
        drivers, ref.grid.transform, ref.grid.shape, ref.year, min_coverage=min_coverage
    )
    h, w = ref.grid.shape
    t = ref.grid.transform
    lon = t.c + (np.arange(w) + 0.5) * t.a
    lat = t.f + (np.arange(h) + 0.5) * t.e
    lon2, lat2 = np.meshgrid(lon, lat)
    return feature_block(values, lon2, lat2)


def train_downscaler_from_files(
    reanalysis: Files,
    drivers: Mapping[str, str | Path],
    year: int,
    out_model: str | Path,
    *,
    settings: SoilMoistureSettings = DEFAULTS,
    seed: int = 0,
) -> Path:
    """Rule ``sm_train``: fit the per-layer downscaler on the region's cells x days.

    Reads ``settings.region_bbox`` (``None``: the files' extent), ``reanalysis``
    (variables, depths, units) and ``downscaling``.
    """
    start = time.perf_counter()
    rea, down = settings.reanalysis, settings.downscaling
    layers = rea.layers()
    ref = load_reference(
        reanalysis, year, layers=layers, bbox=settings.region_bbox, options=rea.read_options()
    )
    block = coarse_features(drivers, ref, min_coverage=down.min_coverage)
    log.info("training the downscaler on %d cells x %d days", ref.grid.n_cells, len(block.days))
    meta = {
        "year": year,
        "bbox": list(ref.grid.bbox),
        "layers": check_layers(layers),
        "units_in": rea.units,
        "grid_shape": list(ref.grid.shape),
    }
    model = train_downscaler(
        block, ref.values, params=down.lgbm_params(), rounds=down.rounds, seed=seed, meta=meta
    )
    model.save(out_model)
    log.info("downscaler written to %s in %.1f s", out_model, time.perf_counter() - start)
    return Path(out_model)


def downscale_pixels(
    model: DownscalerModel,
    drivers: Mapping[str, str | Path],
    ref: Reference,
    targets: Pixels,
    *,
    residual: bool = True,
    engine: str = "compiled",
) -> tuple[dict[str, np.ndarray], FeatureBlock]:
    """Daily 1 km soil moisture ``{layer: (T, n)}`` and the features at ``targets``.

    With ``residual`` every reanalysis cell touched by a target is predicted in
    full (all its lattice pixels) so the correction sees the whole cell.
    Targets outside the reanalysis region are NaN.
    """
    cells = np.unique(targets.cell[targets.cell >= 0])
    if cells.size == 0:
        raise DataError("no requested 1 km pixel lies inside the reanalysis region")
    support = cell_members(ref.grid, cells) if residual else targets
    values = sample_drivers(drivers, support.lon, support.lat, ref.year)
    block = feature_block(values, support.lon, support.lat)
    idx = lookup(support, targets.row, targets.col)
    out = {}
    for layer in model.layers:
        start = time.perf_counter()
        pred = predict_block(model, layer, block, engine=engine)
        elapsed = time.perf_counter() - start
        log.info(
            "predicted %s at %d pixels x %d days in %.1f s (%.0f predictions/s)",
            layer,
            len(support),
            block.n_days,
            elapsed,
            pred.size / max(elapsed, 1e-9),
        )
        missing = np.isnan(pred).all(axis=0)
        if missing.any():
            log.warning(
                "%s: %d pixel(s) lack a driver value and stay empty", layer, int(missing.sum())
            )
        if residual:
            pred = residual_correction(pred, support.cell, ref.values[layer]).astype(np.float32)
            outside = (pred < 0) | (pred > 1)
            if outside.any():
                log.warning(
                    "%s: %d value(s) outside [0, 1] m3/m3 after the residual correction",
                    layer,
                    int(outside.sum()),
                )
        res = np.full((block.n_days, len(targets)), np.nan, dtype=np.float32)
        res[:, idx >= 0] = pred[:, idx[idx >= 0]]
        res[:, targets.cell < 0] = np.nan
        out[layer] = res
    safe = np.where(idx >= 0, idx, 0)
    return out, block.take(safe)


def tile_grid_1km(tile_id: str, tile_km: int):
    """The 1 km grid of a tile."""
    return Tile.from_id(tile_id, tile_km).grid(res=1000.0)


def _reference_of(
    model: DownscalerModel, reanalysis: Files, year: int, settings: SoilMoistureSettings
) -> tuple[dict, Reference]:
    """The model's layers and the reanalysis over the region (default: the training region)."""
    layers = model.meta.get("layers", DEFAULT_LAYERS)
    bbox = settings.region_bbox
    bbox = bbox if bbox is not None else model.meta.get("bbox")  # the training region
    options = settings.reanalysis.read_options()
    ref = load_reference(reanalysis, year, layers=layers, bbox=bbox, options=options)
    return layers, ref


def downscale_tile(
    model_path: str | Path,
    reanalysis: Files,
    drivers: Mapping[str, str | Path],
    tile_id: str,
    tile_km: int,
    year: int,
    out_path: str | Path,
    *,
    settings: SoilMoistureSettings = DEFAULTS,
) -> Path:
    """Rule ``sm_downscale``: daily 1 km soil moisture of one tile and year (NetCDF).

    Reads ``settings.region_bbox``, ``reanalysis`` (how it is read) and ``downscaling``
    (``residual_correction``, ``engine``); the layers come from the model.
    """
    model = DownscalerModel.load(model_path)
    layers, ref = _reference_of(model, reanalysis, year, settings)
    grid = tile_grid_1km(tile_id, tile_km)
    rows, cols = grid_pixels(grid)
    targets = make_pixels(rows, cols, ref.grid)
    if (targets.cell < 0).all():
        raise DataError(f"tile {tile_id} lies outside the soil-moisture region {ref.grid.bbox}")
    residual = settings.downscaling.residual_correction
    engine = settings.downscaling.engine
    sm, _ = downscale_pixels(model, drivers, ref, targets, residual=residual, engine=engine)
    days = year_days(year)
    fields = {k: v.reshape((len(days),) + grid.shape) for k, v in sm.items()}
    depths = {k: layers[k]["depth_m"] for k in fields}
    return write_sm_netcdf(
        out_path,
        fields,
        grid,
        days,
        depths=depths,
        title=f"Downscaled daily 1 km soil moisture, tile {tile_id}, {year}",
        attrs={
            "product": "downscaled",
            "tile": tile_id,
            "year": year,
            "residual_correction": str(residual).lower(),
            "method": "LightGBM downscaling",
        },
    )


# --------------------------------------------------------------------------- stations


@dataclass
class StationSeries:
    """Daily station observations ``{layer: (T, S)}`` and the stations' 1 km pixels."""

    ids: list[str]
    lon: np.ndarray
    lat: np.ndarray
    obs: dict[str, np.ndarray]
    row: np.ndarray
    col: np.ndarray
    left_out: list[str] = field(default_factory=list)


def load_station_series(
    paths: StationPaths,
    ref: Reference,
    *,
    layer_depths: Mapping[str, Sequence[float]],
    stations: StationSettings = DEFAULTS.stations,
) -> StationSeries:
    """Read stations, honour flags, map depths to layers, keep those inside the region."""
    read = read_stations(paths)
    records, _ = apply_quality_flags(read.records, stations.keep_flags)
    daily = daily_layer_means(records, layer_depths, min_readings=stations.min_readings)
    daily, left_out = select_in_region(daily, ref.grid.bbox)
    pos = daily.groupby("station")[["lon", "lat"]].first().sort_index()
    days = pd.DatetimeIndex(np.array(year_days(ref.year), dtype="datetime64[ns]"))
    obs = {}
    for layer in layer_depths:
        part = daily[daily["layer"] == layer]
        table = part.pivot(index="date", columns="station", values="value")
        obs[layer] = table.reindex(index=days, columns=pos.index).to_numpy(np.float32)
    if all(np.isnan(v).all() for v in obs.values()):
        raise DataError(f"no station observation falls in {ref.year}")
    row, col = lattice_pixel_of(pos["lon"].to_numpy(), pos["lat"].to_numpy())
    log.info("%d station(s) inside the region, %d left out", len(pos), len(left_out))
    return StationSeries(
        list(pos.index), pos["lon"].to_numpy(), pos["lat"].to_numpy(), obs, row, col, left_out
    )


# --------------------------------------------------------------------------- bias correction


def oof_coarse_predictions(
    block: FeatureBlock,
    ref: Reference,
    model: DownscalerModel,
    *,
    n_folds: int = 4,
    seed: int = 0,
) -> dict[str, np.ndarray]:
    """Out-of-fold downscaler predictions at the reanalysis cells ``{layer: (T, n_cells)}``.

    Cells are dealt into ``n_folds`` groups at random; each group is predicted
    by a model (same settings as ``model``) trained on the other groups, so the
    prediction at a cell never saw that cell's reanalysis.
    """
    params = dict(model.meta.get("params", {}))
    rounds = int(params.pop("rounds", DEFAULT_ROUNDS))
    params.pop("seed", None)
    n_cells = ref.grid.n_cells
    fold_of = np.random.default_rng(seed).permutation(n_cells) % n_folds
    out = {}
    for layer in model.layers:
        pred = np.full((block.n_days, n_cells), np.nan, dtype=np.float32)
        for k in range(n_folds):
            test = fold_of == k
            target = np.array(ref.values[layer], copy=True)
            target[:, test] = np.nan
            booster = train_layer(block, target, params=params, rounds=rounds, seed=seed)
            sub = block.take(np.flatnonzero(test))
            x = sub.matrix()
            pred[:, test] = booster.predict(x, num_threads=1).reshape(block.n_days, -1)
        out[layer] = pred
    return out


def pretraining_set(
    block: FeatureBlock,
    ref: Reference,
    oof: Mapping[str, np.ndarray],
    radius: int,
) -> tuple[np.ndarray, np.ndarray]:
    """Coarse-domain samples: patches of cells around each cell, target = reanalysis - OOF."""
    layers = ref.layers
    stack = channel_stack(block, oof, layers)  # (T, C, n_cells)
    h, w = ref.grid.shape
    grid = stack.reshape(stack.shape[0], stack.shape[1], h, w)
    fill_missing(grid, (2, 3), "pretraining grid")
    patches = grid_patches(grid, radius)
    target = np.stack([ref.values[k] - oof[k] for k in layers], axis=-1).reshape(-1, len(layers))
    keep = np.isfinite(target).any(axis=1) & np.isfinite(patches).all(axis=(1, 2, 3))
    return patches[keep], target[keep]


@dataclass
class StationSamples:
    """Station patches ``(T, S, C, P, P)``, downscaled ``(T, S, L)`` and observed ``(T, S, L)``."""

    patches: np.ndarray
    downscaled: np.ndarray
    observed: np.ndarray
    reanalysis: np.ndarray

    def select(self, stations: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Flattened patches and targets (observed - downscaled) of some stations."""
        x = self.patches[:, stations].reshape((-1,) + self.patches.shape[2:])
        y = (self.observed[:, stations] - self.downscaled[:, stations]).reshape(
            -1, self.observed.shape[-1]
        )
        keep = np.isfinite(y).any(axis=1) & np.isfinite(x).all(axis=(1, 2, 3))
        return x[keep], y[keep]


def station_samples(
    model: DownscalerModel,
    drivers: Mapping[str, str | Path],
    ref: Reference,
    networks: Sequence[StationSeries],
    radius: int,
    *,
    engine: str = "compiled",
) -> list[StationSamples]:
    """Downscale the patches around the stations of each network and assemble CNN samples.

    All networks share one downscaling run, so a reanalysis cell is predicted once.
    """
    dr, dc = patch_offsets(radius)
    p2 = (2 * radius + 1) ** 2
    rows = np.concatenate([(n.row[:, None] + dr[None, :]).ravel() for n in networks])
    cols = np.concatenate([(n.col[:, None] + dc[None, :]).ravel() for n in networks])
    targets = make_pixels(rows, cols, ref.grid)
    sm, block = downscale_pixels(model, drivers, ref, targets, engine=engine)
    layers = ref.layers
    stack = channel_stack(block, sm, layers)
    out, start = [], 0
    for net in networks:
        n_st = len(net.ids)
        part = slice(start * p2, (start + n_st) * p2)
        start += n_st
        patches = station_patches(stack[:, :, part], n_st, radius)
        centre = p2 // 2
        down = np.stack([sm[k][:, part].reshape(-1, n_st, p2)[:, :, centre] for k in layers], -1)
        obs = np.stack([net.obs[k] for k in layers], axis=-1)
        cells = targets.cell[part].reshape(n_st, p2)[:, centre]
        rean = np.stack([ref.values[k][:, cells] for k in layers], axis=-1)
        out.append(StationSamples(patches, down, obs, rean))
    return out


@dataclass
class BiasTrainResult:
    """What :func:`train_bias_correction` wrote and measured."""

    cnn: Path
    table: Path
    series: Path
    evaluation: pd.DataFrame


#: Seed spacing between ensemble members (member ``i`` uses ``seed + MEMBER_SEED_STEP * i``).
MEMBER_SEED_STEP = 1000


def member_seeds(seed: int, members: int) -> list[int]:
    """Seeds of the ensemble members; the first member uses ``seed`` itself."""
    if members < 1:
        raise ConfigError(f"members = {members}: the CNN ensemble needs at least one member")
    return [seed + MEMBER_SEED_STEP * i for i in range(members)]


def _cv(
    samples: StationSamples,
    stations: StationSeries,
    pretrained: Sequence[BiasCorrector],
    layers: Sequence[str],
    *,
    folds: int,
    finetune: FinetuneSettings,
    width: int,
    radius: int,
    seed: int,
    members: int = 1,
) -> dict[str, np.ndarray]:
    """Held-out estimates ``(T, S, L)`` at the target stations, fold by fold.

    ``calibrated``: the pretrained CNNs fine-tuned with frozen feature layers
    (or, without pretraining, the target-only CNNs); ``calibrated_target_only``:
    the same CNNs trained from scratch on the fold's training stations. Each
    product is the mean of ``members`` networks (one per pretrained network).
    The folds depend on ``seed`` only, so every member sees the same folds.
    """
    t, s, n_layers = samples.observed.shape
    names = ("calibrated", "calibrated_target_only") if pretrained else ("calibrated",)
    out = {k: np.full((t, s, n_layers), np.nan, np.float32) for k in names}
    seeds = member_seeds(seed, members)
    for k, (train, test) in enumerate(cv_splits(stations.ids, folds, seed)):
        x, y = samples.select(train)
        nets: dict[str, list[BiasCorrector]] = {name: [] for name in names}
        for i, ms in enumerate(seeds):
            scratch = new_corrector(x, y, layers, width=width, radius=radius, seed=ms)
            fit(scratch, x, y, finetune, freeze_features=False, seed=ms + k)
            nets[names[-1]].append(scratch)
            if pretrained:
                tuned = copy_corrector(pretrained[i])
                fit(tuned, x, y, finetune, freeze_features=True, seed=ms + k)
                nets["calibrated"].append(tuned)
        xt = samples.patches[:, test].reshape((-1,) + samples.patches.shape[2:])
        for name, group in nets.items():
            corr = CorrectorEnsemble(group).predict_patches(xt).reshape(t, len(test), n_layers)
            out[name][:, test] = samples.downscaled[:, test] + corr
        log.info(
            "fold %d/%d: trained on %d stations, tested on %d", k + 1, folds, len(train), len(test)
        )
    return out


def pretrain_mode(pretrain_on: str | None, has_source: bool) -> str:
    """Where the CNN is pretrained: ``pretrain_on``, or by default 'source' when a
    source network is given, else 'none'."""
    mode = pretrain_on or ("source" if has_source else "none")
    if mode not in ("source", "reanalysis", "none"):
        raise ConfigError(f"pretrain_on {mode!r}: use 'source', 'reanalysis' or 'none'")
    if mode == "source" and not has_source:
        raise ConfigError("pretrain_on 'source' needs source_stations (a dense network)")
    return mode


@dataclass
class BiasInputs:
    """What the bias training reads: the downscaler, the reanalysis over the region and
    the station networks (the target stations first, then the source network if any)."""

    model: DownscalerModel
    ref: Reference
    networks: list[StationSeries]


def read_bias_inputs(
    model_path: str | Path,
    reanalysis: Files,
    stations: StationPaths,
    year: int,
    *,
    source_stations: StationPaths | None,
    settings: SoilMoistureSettings,
) -> BiasInputs:
    """Read the downscaler, the reanalysis and the target (and source) stations."""
    model = DownscalerModel.load(model_path)
    layers, ref = _reference_of(model, reanalysis, year, settings)
    depths = settings.stations.layer_depths() or {k: v["depth_m"] for k, v in layers.items()}
    read = {"layer_depths": depths, "stations": settings.stations}
    st = load_station_series(stations, ref, **read)
    folds = settings.bias_correction.folds
    if len(st.ids) < folds:
        raise DataError(f"{len(st.ids)} station(s) for {folds} cross-validation folds")
    networks = [st]
    if source_stations is not None:
        src = load_station_series(source_stations, ref, **read)
        shared = sorted(set(src.ids) & set(st.ids))
        if shared:
            raise DataError(
                f"station(s) {shared[:5]} are both source and target stations; a target "
                "station must not be used for pretraining"
            )
        networks.append(src)
    return BiasInputs(model, ref, networks)


def pretraining_samples(
    mode: str,
    inputs: BiasInputs,
    sets: Sequence[StationSamples],
    drivers: Mapping[str, str | Path],
    settings: SoilMoistureSettings,
    *,
    radius: int,
    seed: int,
) -> tuple[np.ndarray, np.ndarray, str] | None:
    """Patches, targets and a description of the pretraining samples (``None``: no pretraining).

    * ``"source"`` (the default when source stations are given): a dense source
      network, any station format; every source station-day is a sample (target =
      station minus downscaled, inputs the same 1 km patches).
    * ``"reanalysis"``: the coarse domain; at every reanalysis cell and day the
      target is the reanalysis minus an out-of-fold downscaler prediction (the cell
      held out of its training), inputs patches of cells. On the demo this transfers
      worse than no pretraining (docs/soil-moisture.md).
    * ``"none"`` (the default without source stations): no transfer; the CNN learns
      from the target stations alone, which is logged as a warning.
    """
    if mode == "source":
        n_source = len(inputs.networks[1].ids)
        px, py = sets[1].select(np.arange(n_source))
        return px, py, f"source stations ({n_source})"
    if mode == "reanalysis":
        ref, min_coverage = inputs.ref, settings.downscaling.min_coverage
        block = coarse_features(drivers, ref, min_coverage=min_coverage)
        n_folds = settings.bias_correction.oof_folds
        oof = oof_coarse_predictions(block, ref, inputs.model, n_folds=n_folds, seed=seed)
        px, py = pretraining_set(block, ref, oof, radius)
        return px, py, "reanalysis cells (out-of-fold)"
    log.warning("no pretraining: the CNN learns from the target stations alone")
    return None


def pretrain_members(
    px: np.ndarray,
    py: np.ndarray,
    layers: Sequence[str],
    bias: BiasCorrectionSettings,
    *,
    radius: int,
    seed: int,
    source: str,
    start: float,
) -> list[BiasCorrector]:
    """One pretrained network per ensemble member (seeds :func:`member_seeds`)."""
    pretrained = []
    for ms in member_seeds(seed, bias.members):
        net = new_corrector(px, py, layers, width=bias.width, radius=radius, seed=ms)
        losses = fit(net, px, py, bias.pretrain, seed=ms)
        pretrained.append(net)
        log.info(
            "pretrained member %d/%d on %d samples from %s (loss %.3f -> %.3f) after %.1f s",
            len(pretrained),
            bias.members,
            len(px),
            source,
            losses[0],
            losses[-1],
            time.perf_counter() - start,
        )
    return pretrained


def station_products(
    samples: StationSamples,
    stations: StationSeries,
    pretrained: Sequence[BiasCorrector],
    layers: Sequence[str],
    bias: BiasCorrectionSettings,
    *,
    radius: int,
    seed: int,
) -> dict[str, np.ndarray]:
    """Every product at the target stations ``{name: (T, S, L)}``, held out where trained."""
    products = {"reanalysis": samples.reanalysis, "downscaled": samples.downscaled}
    if pretrained:
        n_t, n_s, n_l = samples.observed.shape
        flat = samples.patches.reshape((-1,) + samples.patches.shape[2:])
        corr = CorrectorEnsemble(pretrained).predict_patches(flat).reshape(n_t, n_s, n_l)
        products["pretrained_only"] = samples.downscaled + corr
    cv = _cv(
        samples,
        stations,
        pretrained,
        layers,
        folds=bias.folds,
        finetune=bias.finetune,
        width=bias.width,
        radius=radius,
        seed=seed,
        members=bias.members,
    )
    products.update(cv)
    return products


def evaluation_table(
    products: Mapping[str, np.ndarray],
    samples: StationSamples,
    stations: StationSeries,
    layers: Sequence[str],
) -> pd.DataFrame:
    """Metrics of every product per layer against the observations."""
    rows = []
    for li, layer in enumerate(layers):
        for name, est in products.items():
            m = summarise(est[:, :, li], samples.observed[:, :, li], stations.ids)
            rows.append({"layer": layer, "product": name, **m})
    return pd.DataFrame(rows)


def series_table(
    products: Mapping[str, np.ndarray],
    samples: StationSamples,
    stations: StationSeries,
    layers: Sequence[str],
    year: int,
) -> pd.DataFrame:
    """Daily observed and estimated values per layer and station."""
    days = np.array(year_days(year), dtype="datetime64[D]")
    series = []
    for li, layer in enumerate(layers):
        for si, sid in enumerate(stations.ids):
            frame = {
                "date": days,
                "station": sid,
                "layer": layer,
                "observed": samples.observed[:, si, li],
            }
            for name, est in products.items():
                frame[name] = est[:, si, li]
            series.append(pd.DataFrame(frame))
    return pd.concat(series)


def final_ensemble(
    samples: StationSamples,
    pretrained: Sequence[BiasCorrector],
    layers: Sequence[str],
    bias: BiasCorrectionSettings,
    *,
    radius: int,
    seed: int,
) -> CorrectorEnsemble:
    """The delivered CNN: each member fine-tuned (or trained) on all target stations."""
    x, y = samples.select(np.arange(samples.observed.shape[1]))
    finals = []
    for i, ms in enumerate(member_seeds(seed, bias.members)):
        if pretrained:
            net = copy_corrector(pretrained[i])
            fit(net, x, y, bias.finetune, freeze_features=True, seed=ms)
        else:
            net = new_corrector(x, y, layers, width=bias.width, radius=radius, seed=ms)
            fit(net, x, y, bias.finetune, seed=ms)
        finals.append(net)
    return CorrectorEnsemble(finals)


def train_bias_correction(
    model_path: str | Path,
    reanalysis: Files,
    drivers: Mapping[str, str | Path],
    stations: StationPaths,
    year: int,
    out_cnn: str | Path,
    out_table: str | Path,
    out_series: str | Path,
    *,
    source_stations: StationPaths | None = None,
    settings: SoilMoistureSettings = DEFAULTS,
    radius: int = 2,
    seed: int = 0,
) -> BiasTrainResult:
    """Rule ``sm_bias_train``: pretrain, cross-validate and fine-tune the bias-correction CNN.

    Reads ``settings.region_bbox``, ``reanalysis`` (how it is read), ``stations``,
    ``downscaling`` (``engine``, ``min_coverage``) and ``bias_correction``.

    1. Pretraining where targets are plentiful (:func:`pretraining_samples`).
    2. Leave-stations-out cross-validation over the target ``stations``
       (``folds`` folds grouped by station): the pretrained CNN fine-tuned with
       its feature layers frozen, and the same CNN trained from scratch on the
       same stations, both predict the held-out stations (:func:`station_products`).
       Metrics per layer go to ``out_table``, daily series to ``out_series``.
    3. The delivered CNN (:func:`final_ensemble`): the pretrained network fine-tuned
       on all target stations (or, without pretraining, trained on all of them).

    With ``members`` > 1 every step trains that many networks from different
    initialisations (seeds :func:`member_seeds`) and every product is their
    mean (:class:`~agrifactory.soil_moisture.cnn.CorrectorEnsemble`). ``out_cnn``
    always holds an ensemble (of one network when ``members`` is 1).
    """
    bias = settings.bias_correction
    mode = pretrain_mode(bias.pretrain_on, source_stations is not None)
    start = time.perf_counter()
    inputs = read_bias_inputs(
        model_path, reanalysis, stations, year, source_stations=source_stations, settings=settings
    )
    ref, st = inputs.ref, inputs.networks[0]
    engine = settings.downscaling.engine
    sets = station_samples(inputs.model, drivers, ref, inputs.networks, radius, engine=engine)
    log.info("station samples ready after %.1f s", time.perf_counter() - start)
    found = pretraining_samples(mode, inputs, sets, drivers, settings, radius=radius, seed=seed)
    pretrained, pretrain_from = [], "none"
    if found is not None:
        px, py, pretrain_from = found
        pretrained = pretrain_members(
            px, py, ref.layers, bias, radius=radius, seed=seed, source=pretrain_from, start=start
        )
    products = station_products(sets[0], st, pretrained, ref.layers, bias, radius=radius, seed=seed)
    table = evaluation_table(products, sets[0], st, ref.layers)
    write_table(table, out_table, float_format=TABLE_FLOAT_FORMAT)
    series = series_table(products, sets[0], st, ref.layers, year)
    write_table(series, out_series, float_format=TABLE_FLOAT_FORMAT)
    final = final_ensemble(sets[0], pretrained, ref.layers, bias, radius=radius, seed=seed)
    final.meta = {
        "year": year,
        "stations": st.ids,
        "left_out": st.left_out,
        "pretrained_on": pretrain_from,
        "members": bias.members,
        "cv": table.to_dict(orient="records"),
    }
    final.save(out_cnn)
    log.info(
        "bias correction trained in %.1f s:\n%s",
        time.perf_counter() - start,
        table.to_string(index=False),
    )
    return BiasTrainResult(Path(out_cnn), Path(out_table), Path(out_series), table)


# --------------------------------------------------------------------------- calibration


def _halo_from_neighbours(
    padded: dict[str, np.ndarray], grid, radius: int, neighbours: Sequence[str | Path], days
) -> int:
    """Fill the halo of ``padded`` ``{layer: (T, H+2r, W+2r)}`` from neighbouring tiles."""
    r0, c0 = grid_lattice_origin(grid)
    r0 -= radius
    c0 -= radius
    h, w = next(iter(padded.values())).shape[1:]
    filled = 0
    for path in neighbours:
        data, ngrid, ndays, _ = read_sm_netcdf(path)
        if ndays != list(days):
            raise InputError(path, "neighbour tile covers other days than the tile", "rerun it")
        nr, nc = grid_lattice_origin(ngrid)
        rs, re_ = max(nr, r0), min(nr + ngrid.height, r0 + h)
        cs, ce = max(nc, c0), min(nc + ngrid.width, c0 + w)
        if rs >= re_ or cs >= ce:
            continue
        for layer, arr in padded.items():
            if layer not in data:
                raise InputError(path, f"neighbour tile lacks layer {layer!r}", "rerun it")
            arr[:, rs - r0 : re_ - r0, cs - c0 : ce - c0] = data[layer][
                :, rs - nr : re_ - nr, cs - nc : ce - nc
            ]
        filled += (re_ - rs) * (ce - cs)
    return filled


def calibrate_tile(
    downscaled_path: str | Path,
    cnn_path: str | Path,
    drivers: Mapping[str, str | Path],
    out_path: str | Path,
    *,
    neighbours: Sequence[str | Path] = (),
    batch_days: int = DEFAULTS.bias_correction.batch_days,
) -> Path:
    """Rule ``sm_calibrate``: apply the CNN over a downscaled tile.

    The CNN needs ``radius`` pixels around every pixel. The drivers are sampled
    there directly; the downscaled soil moisture of that halo comes from the
    neighbouring tiles' downscaled files when given (``neighbours``, any of the
    8 around), and is the tile's edge repeated where none is given.
    """
    sm, grid, days, attrs = read_sm_netcdf(downscaled_path)
    cnn = CorrectorEnsemble.load(cnn_path)
    r = cnn.radius
    missing = [k for k in cnn.layers if k not in sm]
    if missing:
        raise InputError(downscaled_path, f"lacks layer(s) {missing} the CNN corrects", "rerun")
    year = days[0].year
    if days != year_days(year):
        raise InputError(downscaled_path, "does not hold every day of one year", "rerun it")
    padded = {k: np.pad(sm[k], ((0, 0), (r, r), (r, r)), mode="edge") for k in cnn.layers}
    n_halo = _halo_from_neighbours(padded, grid, r, neighbours, days)
    log.info(
        "halo: %d pixel(s) from %d neighbour tile(s), the rest repeats the tile edge",
        n_halo,
        len(neighbours),
    )
    r0, c0 = grid_lattice_origin(grid)
    hp, wp = grid.height + 2 * r, grid.width + 2 * r
    rr, cc = np.meshgrid(
        np.arange(r0 - r, r0 - r + hp), np.arange(c0 - r, c0 - r + wp), indexing="ij"
    )
    lon, lat = lattice_lonlat(rr.ravel(), cc.ravel())
    values = sample_drivers(drivers, lon, lat, year)
    block = feature_block(values, lon, lat)
    sm_flat = {k: v.reshape(len(days), -1) for k, v in padded.items()}
    stack = channel_stack(block, sm_flat, cnn.layers).reshape(len(days), -1, hp, wp)
    fill_missing(stack, (2, 3), "calibration inputs")
    corr = cnn.predict_grid(stack, batch=batch_days)  # (T, L, H, W)
    out = {}
    for li, layer in enumerate(cnn.layers):
        out[layer] = (sm[layer] + corr[:, li]).astype(np.float32)
        out[layer][np.isnan(sm[layer])] = np.nan
    depths = attrs["depths"]
    return write_sm_netcdf(
        out_path,
        out,
        grid,
        days,
        depths={k: depths[k] for k in out},
        title=attrs.get("title", "").replace("Downscaled", "Calibrated"),
        attrs={
            "product": "calibrated",
            "tile": attrs.get("tile", ""),
            "year": year,
            "method": "LightGBM downscaling + CNN bias correction (transfer learning)",
            "downscaled_from": Path(downscaled_path).name,
        },
    )


def set_torch_threads(n: int) -> None:
    """Pin PyTorch to ``n`` threads (rules pass their ``threads``)."""
    torch.set_num_threads(max(1, int(n)))
