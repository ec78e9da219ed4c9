"""The learned scorer: a small ResNet-style CNN that scores NDVI patches.

It needs no hand labels: clear patches are degraded in known ways
(:mod:`agrifactory.quality.degrade`: cloud, haze, blur, stripes, noise) and the
network learns ``quality = 1 - strength``. NDVI is the one input channel because
every source the factory scores can provide it (Landsat red/NIR, Sentinel-2, the
demo world); values enter unscaled, so the network sees both texture and level
(clouds pull NDVI towards 0).

Training runs on the CPU in minutes (``docs/quality.md`` has timings); every
random choice comes from the ``seed`` of :func:`train_scorer`. Weights are written by
:func:`save_scorer` as a workflow output and never committed.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import torch
from scipy import stats
from sklearn.metrics import roc_auc_score
from torch import nn

from agrifactory.errors import DataError, InputError
from agrifactory.io.torchfile import save_torch
from agrifactory.quality.config import ScorerSettings, ScoringSettings
from agrifactory.quality.degrade import KINDS, NDVI_PROFILE, degrade, random_degradation
from agrifactory.quality.scores import SceneScorer, SceneStack, score_stack

log = logging.getLogger(__name__)

#: Format tag stored with the weights.
WEIGHTS_FORMAT = "agrifactory-quality-scorer/1"
#: Strength above which a held-out patch counts as "degraded" for the AUC.
AUC_MIN_STRENGTH = 0.3


class ResidualBlock(nn.Module):
    """Two 3x3 convolutions with batch norm and an identity (or 1x1) shortcut."""

    def __init__(self, c_in: int, c_out: int, stride: int = 1) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(c_in, c_out, 3, stride=stride, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(c_out)
        self.conv2 = nn.Conv2d(c_out, c_out, 3, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(c_out)
        self.shortcut: nn.Module = nn.Identity()
        if stride != 1 or c_in != c_out:
            self.shortcut = nn.Sequential(
                nn.Conv2d(c_in, c_out, 1, stride=stride, bias=False), nn.BatchNorm2d(c_out)
            )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = torch.relu(self.bn1(self.conv1(x)))
        y = self.bn2(self.conv2(y))
        return torch.relu(y + self.shortcut(x))


class PatchScorer(nn.Module):
    """Stem, three residual stages (width, 2x width /2, 4x width /2), pooling, one logit."""

    def __init__(self, width: int = 16, patch_size: int = 32) -> None:
        super().__init__()
        self.width = width
        #: The patch edge the model was trained on; scenes are cut into such patches.
        self.patch_size = patch_size
        self.stem = nn.Sequential(
            nn.Conv2d(1, width, 3, padding=1, bias=False), nn.BatchNorm2d(width), nn.ReLU()
        )
        self.stages = nn.Sequential(
            ResidualBlock(width, width),
            ResidualBlock(width, 2 * width, stride=2),
            ResidualBlock(2 * width, 4 * width, stride=2),
        )
        self.head = nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(4 * width, 1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Quality logits of a batch (N, 1, P, P) -> (N,)."""
        return self.head(self.stages(self.stem(x))).squeeze(1)


def _augment(patch: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    k = int(rng.integers(4))
    out = np.rot90(patch, k)
    if rng.random() < 0.5:
        out = out[:, ::-1]
    return np.ascontiguousarray(out)


def _batch(patches: np.ndarray) -> torch.Tensor:
    return torch.from_numpy(np.asarray(patches, dtype=np.float32)[:, np.newaxis])


def heldout_set(
    patches: np.ndarray, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """Each clear patch once clean and once per degradation kind at a random strength."""
    images, strengths, kinds = [], [], []
    for p in patches:
        images.append(p)
        strengths.append(0.0)
        kinds.append("none")
        for kind in KINDS:
            s = float(rng.uniform(0.0, 1.0))
            images.append(degrade(p, kind, s, rng, NDVI_PROFILE))
            strengths.append(s)
            kinds.append(kind)
    return np.stack(images).astype(np.float32), np.array(strengths), kinds


def evaluate_scorer(
    model: PatchScorer, images: np.ndarray, strengths: np.ndarray, kinds: list[str]
) -> dict[str, Any]:
    """AUC (clean vs strength >= 0.3), Spearman with ``-strength`` overall and per kind, MAE."""
    pred = score_patches(model, images)
    metrics: dict[str, Any] = {"n_heldout": int(len(pred))}
    clean = strengths == 0
    bad = strengths >= AUC_MIN_STRENGTH
    if clean.any() and bad.any():
        labels = np.r_[np.ones(clean.sum()), np.zeros(bad.sum())]
        metrics["auc_clean_vs_degraded"] = float(
            roc_auc_score(labels, np.r_[pred[clean], pred[bad]])
        )
    metrics["spearman_vs_strength"] = float(stats.spearmanr(pred, -strengths)[0])
    metrics["mae_quality"] = float(np.mean(np.abs(pred - (1.0 - strengths))))
    kinds_arr = np.array(kinds)
    per_kind = {}
    for kind in KINDS:
        sel = kinds_arr == kind
        if sel.sum() >= 3:
            per_kind[kind] = float(stats.spearmanr(pred[sel], -strengths[sel])[0])
    metrics["spearman_by_kind"] = per_kind
    return metrics


def _split(
    n: int, groups: np.ndarray | None, fraction: float, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """Held-out and training indices; whole groups (scenes) go to one side."""
    if groups is None:
        order = rng.permutation(n)
        n_hold = max(2, int(round(fraction * n)))
        return order[:n_hold], order[n_hold:]
    groups = np.asarray(groups)
    if groups.shape != (n,):
        raise DataError(f"groups has shape {groups.shape}; expected ({n},), one per patch")
    held: list[int] = []
    for g in rng.permutation(np.unique(groups)):
        if len(held) >= fraction * n:
            break
        held.extend(np.flatnonzero(groups == g))
    hold = np.sort(np.array(held, dtype=int))
    train = np.setdiff1d(np.arange(n), hold)
    if len(hold) < 2 or len(train) < 2:
        raise DataError(
            f"{len(np.unique(groups))} patch groups cannot be split into training "
            "and held-out sets: give patches from more scenes"
        )
    return hold, train


def train_scorer(
    clear_patches: np.ndarray,
    config: ScorerSettings | None = None,
    groups: np.ndarray | None = None,
    seed: int = 0,
) -> tuple[PatchScorer, dict[str, Any]]:
    """Train the scorer on clear NDVI patches, degraded on the fly; return it and its metrics.

    Parameters
    ----------
    clear_patches
        Array (N, P, P) of NaN-free NDVI patches from clear scenes (see
        :func:`training_patches`); at least 10.
    config
        Settings; defaults when None.
    groups
        Optional group (e.g. scene) of each patch: held-out patches then come from
        whole groups never trained on, so overlapping patches cannot leak.
    seed
        Seed of every random choice (split, degradations, initial weights, batches).

    Returns
    -------
    model, metrics
        The model in eval mode, and a dict with the held-out AUC, Spearman
        correlations, MAE, training loss per epoch and counts.
    """
    cfg = config or ScorerSettings()
    patches = _checked_patches(clear_patches, cfg.patch_size)
    start = time.perf_counter()
    rng = np.random.default_rng(seed)
    torch.manual_seed(seed)
    hold_idx, train_idx = _split(len(patches), groups, cfg.holdout_fraction, rng)
    hold, train = patches[hold_idx], patches[train_idx]
    val_images, val_strengths, val_kinds = heldout_set(hold, np.random.default_rng(seed + 1))

    model = PatchScorer(cfg.width, cfg.patch_size)
    losses = _train_epochs(model, train, cfg, rng)
    model.eval()
    metrics = evaluate_scorer(model, val_images, val_strengths, val_kinds)
    metrics.update(
        {
            "train_loss": losses,
            "n_train_patches": int(len(train)),
            "n_heldout_patches": int(len(hold)),
            "torch_threads": torch.get_num_threads(),
            "config": {**cfg.model_dump(), "seed": seed},
        }
    )
    # The time taken goes to the log, not the metrics: the weights file (which holds
    # the metrics) must have the same bytes in every run of one config.
    log.info("scorer trained in %.1f s", time.perf_counter() - start)
    log.info(
        "scorer held-out: AUC %.3f, Spearman %.3f",
        metrics.get("auc_clean_vs_degraded", float("nan")),
        metrics["spearman_vs_strength"],
    )
    return model, metrics


def _checked_patches(clear_patches: np.ndarray, patch_size: int) -> np.ndarray:
    """The clear patches as float32 (N, P, P); a DataError unless 10 or more, NaN-free."""
    patches = np.asarray(clear_patches, dtype=np.float32)
    if patches.ndim != 3 or patches.shape[1:] != (patch_size, patch_size):
        raise DataError(
            f"clear patches have shape {patches.shape}; expected (N, {patch_size}, {patch_size})"
        )
    if len(patches) < 10 or not np.isfinite(patches).all():
        raise DataError(
            f"{len(patches)} clear patches (NaN present: {not np.isfinite(patches).all()}); "
            "the scorer needs at least 10 NaN-free patches: add tiles or lower "
            "min_clear_fraction"
        )
    return patches


def _train_epochs(
    model: PatchScorer, train: np.ndarray, cfg: ScorerSettings, rng: np.random.Generator
) -> list[float]:
    """Train ``model`` on patches of ``train`` degraded on the fly; the loss of each epoch."""
    opt = torch.optim.AdamW(model.parameters(), lr=cfg.learning_rate, weight_decay=cfg.weight_decay)
    steps = cfg.epochs * max(1, cfg.samples_per_epoch // cfg.batch_size)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=cfg.learning_rate, total_steps=steps)
    loss_fn = nn.BCEWithLogitsLoss()
    losses = []
    for epoch in range(cfg.epochs):
        model.train()
        total = 0.0
        for _ in range(max(1, cfg.samples_per_epoch // cfg.batch_size)):
            xs, ys = [], []
            for j in rng.integers(len(train), size=cfg.batch_size):
                img, _, s = random_degradation(
                    _augment(train[j], rng), rng, NDVI_PROFILE, cfg.p_clean
                )
                xs.append(img)
                ys.append(1.0 - s)
            x, y = _batch(np.stack(xs)), torch.tensor(ys, dtype=torch.float32)
            opt.zero_grad()
            loss = loss_fn(model(x), y)
            loss.backward()
            opt.step()
            sched.step()
            total += loss.item() * len(ys)
        losses.append(total / (max(1, cfg.samples_per_epoch // cfg.batch_size) * cfg.batch_size))
        log.info("scorer epoch %d/%d: training loss %.4f", epoch + 1, cfg.epochs, losses[-1])
    return losses


def score_patches(model: PatchScorer, patches: np.ndarray, batch_size: int = 256) -> np.ndarray:
    """Quality in [0, 1] of each NaN-free patch (N, P, P)."""
    model.eval()
    arr = np.asarray(patches, dtype=np.float32)
    out = []
    with torch.no_grad():
        for k in range(0, len(arr), batch_size):
            out.append(torch.sigmoid(model(_batch(arr[k : k + batch_size]))).numpy())
    return np.concatenate(out) if out else np.zeros(0, dtype=np.float32)


def _patch_windows(
    shape: tuple[int, int], size: int, stride: int | None = None
) -> list[tuple[int, int]]:
    step = stride or size
    return [
        (r, c)
        for r in range(0, shape[0] - size + 1, step)
        for c in range(0, shape[1] - size + 1, step)
    ]


def score_scene(
    model: PatchScorer,
    ndvi: np.ndarray,
    keep: np.ndarray | None = None,
    min_valid: float = 0.9,
) -> tuple[float, np.ndarray]:
    """Score a scene by non-overlapping patches; returns the mean and the patch score map.

    A patch is scored when at least ``min_valid`` of its pixels are kept and
    finite; its other pixels take the median of its kept pixels. The map (patch
    rows x patch cols) is NaN for unscored patches; the last partial row and column
    of patches are not scored. The mean is NaN when no patch qualifies.
    """
    size = int(model.patch_size)
    img = np.asarray(ndvi, dtype=np.float32)
    ok = np.isfinite(img) if keep is None else np.isfinite(img) & np.asarray(keep, bool)
    rows, cols = img.shape[0] // size, img.shape[1] // size
    grid = np.full((rows, cols), np.nan, dtype=np.float32)
    batch, where = [], []
    for r, c in _patch_windows(img.shape, size):
        sub_ok = ok[r : r + size, c : c + size]
        if sub_ok.mean() < min_valid:
            continue
        sub = img[r : r + size, c : c + size]
        batch.append(np.where(sub_ok, sub, np.median(sub[sub_ok])))
        where.append((r // size, c // size))
    if batch:
        scores = score_patches(model, np.stack(batch))
        for (i, j), s in zip(where, scores, strict=True):
            grid[i, j] = s
    mean = float(np.nanmean(grid)) if batch else float("nan")
    return mean, grid


def scene_scorer(model: PatchScorer, min_valid: float = 0.9) -> SceneScorer:
    """Wrap a model as the ``scorer`` argument of :func:`~agrifactory.quality.scores.score_stack`."""

    def _score(ndvi: np.ndarray, keep: np.ndarray) -> tuple[float, int]:
        mean, grid = score_scene(model, ndvi, keep, min_valid)
        return mean, int(np.isfinite(grid).sum())

    return _score


def extract_patches(
    image: np.ndarray, keep: np.ndarray | None, patch_size: int, stride: int | None = None
) -> np.ndarray:
    """All patches (every ``stride`` pixels, default: non-overlapping) whose pixels are
    all kept and finite, as an array (N, P, P)."""
    img = np.asarray(image, dtype=np.float32)
    ok = np.isfinite(img) if keep is None else np.isfinite(img) & np.asarray(keep, bool)
    out = [
        img[r : r + patch_size, c : c + patch_size]
        for r, c in _patch_windows(img.shape, patch_size, stride)
        if ok[r : r + patch_size, c : c + patch_size].all()
    ]
    if not out:
        return np.zeros((0, patch_size, patch_size), dtype=np.float32)
    return np.stack(out)


def training_patches(
    stacks: Iterable[SceneStack],
    quality: ScoringSettings | None = None,
    *,
    min_clear_fraction: float = 0.95,
    patch_size: int = 32,
    max_per_scene: int = 64,
    seed: int = 0,
) -> tuple[np.ndarray, np.ndarray, pd.DataFrame]:
    """Clear NDVI patches from the clear scenes of many tiles: the fan-in's training data.

    Each stack is scored without a learned scorer; scenes whose ``clear_fraction``
    reaches ``min_clear_fraction`` give their fully clear, non-overlapping patches
    (at most ``max_per_scene``, drawn with ``seed``). Returns the patches, the scene
    (row of the table) of each patch, for :func:`train_scorer`'s ``groups``, and a
    table of the scenes used (stack index, date, clear fraction, patches taken).
    """
    rng = np.random.default_rng(seed)
    chunks, used = [], []
    for k, stack in enumerate(stacks):
        result = score_stack(stack, quality)
        ndvi = stack.ndvi_stack()
        for i, row in result.table.iterrows():
            if row["clear_fraction"] < min_clear_fraction:
                continue
            p = extract_patches(ndvi[i], result.mask[i] == 0, patch_size)
            if len(p) > max_per_scene:
                p = p[np.sort(rng.choice(len(p), max_per_scene, replace=False))]
            if len(p):
                chunks.append(p)
                used.append(
                    {
                        "stack": k,
                        "date": row["date"],
                        "clear_fraction": row["clear_fraction"],
                        "patches": len(p),
                    }
                )
    table = pd.DataFrame(used, columns=["stack", "date", "clear_fraction", "patches"])
    if not chunks:
        return np.zeros((0, patch_size, patch_size), dtype=np.float32), np.zeros(0, int), table
    groups = np.repeat(np.arange(len(table)), table["patches"].to_numpy())
    return np.concatenate(chunks), groups, table


def save_scorer(
    model: PatchScorer, path: str | Path, metrics: dict[str, Any] | None = None
) -> Path:
    """Write the weights with their format tag, width, patch size and metrics, atomically."""
    payload = {
        "format": WEIGHTS_FORMAT,
        "width": int(model.width),
        "patch_size": int(model.patch_size),
        "state_dict": model.state_dict(),
        "metrics": _plain(metrics or {}),
    }
    return save_torch(payload, path)


def _plain(obj: Any) -> Any:
    """Metrics as plain Python types (``torch.load(weights_only=True)`` accepts these)."""
    if isinstance(obj, dict):
        return {str(k): _plain(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [_plain(v) for v in obj]
    if isinstance(obj, np.generic):
        return obj.item()
    return obj


def load_scorer(path: str | Path) -> tuple[PatchScorer, dict[str, Any]]:
    """Read weights written by :func:`save_scorer`; returns the model (eval mode) and metrics."""
    path = Path(path)
    if not path.exists():
        raise InputError(path, "file not found", "run the scorer training rule first")
    try:
        payload = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # pickle, zip and torch errors on corrupt files
        raise InputError(
            path,
            f"cannot be read as scorer weights ({exc})",
            "the file is corrupt: rerun the scorer training rule",
        ) from None
    if not isinstance(payload, dict) or payload.get("format") != WEIGHTS_FORMAT:
        raise InputError(
            path, "is not a quality-scorer weights file", f"expected format {WEIGHTS_FORMAT!r}"
        )
    model = PatchScorer(int(payload["width"]), int(payload["patch_size"]))
    model.load_state_dict(payload["state_dict"])
    model.eval()
    return model, payload.get("metrics", {})
