"""A small CNN that predicts "station minus downscaled" soil moisture from 1 km patches.

Input: a ``(C, P, P)`` patch (``P = 2 * radius + 1``, default 5 km) of the
channels of :func:`channel_names`: the drivers of that day
(:data:`DRIVER_CHANNELS`) and the downscaled soil moisture of each layer.
Output: the correction of each layer at the patch centre. The network is two
unpadded 3x3 convolutions and a 1x1 convolution (the *feature* layers) and a
1x1 output convolution (the *head*), so the same weights map a patch to one
value and a padded grid ``(C, H + 2r, W + 2r)`` to a full ``(layers, H, W)``
correction field.

Transfer learning: :func:`fit` pretrains all layers where targets are
plentiful, then fine-tunes on the target stations with the feature layers
frozen (``freeze_features=True``): only the output layer, a linear map of the
pretrained features, is re-fitted. Training patches are randomly rotated and
mirrored (a patch's orientation carries no information). Inputs are standardised with the channel means and
standard deviations of the pretraining data, targets scaled by their standard
deviation; both are stored with the weights. Training is deterministic for a
given seed (fixed initialisation, shuffling from a seeded generator, one
thread where the caller sets it).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from agrifactory.errors import InputError
from agrifactory.io.torchfile import save_torch
from agrifactory.soil_moisture.rules import TrainPhase

log = logging.getLogger(__name__)

#: Driver channels of every patch; the downscaled layers follow as ``sm_<layer>``.
DRIVER_CHANNELS = (
    "ndvi",
    "lst_day",
    "lst_night",
    "albedo",
    "api_fast",
    "api_slow",
    "dem",
    "slope",
    "sand",
    "clay",
)


def channel_names(layers: Sequence[str]) -> list[str]:
    """Channel order of a network correcting ``layers``."""
    return list(DRIVER_CHANNELS) + [f"sm_{layer}" for layer in layers]


CNN_FORMAT = "agrifactory-sm-bias-cnn/1"
ENSEMBLE_FORMAT = "agrifactory-sm-bias-cnn-ensemble/1"


class BiasCNN(nn.Module):
    """Feature layers (3x3, 3x3, 1x1 convolutions) and a 1x1 output head; 5x5 receptive field."""

    def __init__(self, n_in: int, n_out: int, width: int = 16) -> None:
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv2d(n_in, width, 3),
            nn.ReLU(),
            nn.Conv2d(width, width, 3),
            nn.ReLU(),
            nn.Conv2d(width, width, 1),
            nn.ReLU(),
        )
        self.head = nn.Conv2d(width, n_out, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.features(x))


@dataclass
class BiasCorrector:
    """A trained network with its input standardisation and target scale."""

    net: BiasCNN
    channel_mean: np.ndarray
    channel_std: np.ndarray
    target_scale: float
    layers: list[str]
    radius: int = 2
    meta: dict[str, Any] = field(default_factory=dict)

    def _standardise(self, x: np.ndarray) -> torch.Tensor:
        m = self.channel_mean.reshape(1, -1, 1, 1)
        s = self.channel_std.reshape(1, -1, 1, 1)
        return torch.from_numpy(((x - m) / s).astype(np.float32))

    def predict_patches(self, patches: np.ndarray, batch: int = 4096) -> np.ndarray:
        """``(N, C, P, P)`` patches -> ``(N, layers)`` corrections in m3/m3."""
        self.net.eval()
        out = []
        with torch.no_grad():
            for s in range(0, len(patches), batch):
                y = self.net(self._standardise(patches[s : s + batch]))
                out.append(y[:, :, 0, 0].numpy() * self.target_scale)
        return np.concatenate(out) if out else np.zeros((0, len(self.layers)), np.float32)

    def predict_grid(self, stack: np.ndarray, batch: int = 16) -> np.ndarray:
        """``(T, C, H + 2r, W + 2r)`` padded inputs -> ``(T, layers, H, W)`` corrections."""
        self.net.eval()
        out = []
        with torch.no_grad():
            for s in range(0, len(stack), batch):
                out.append(self.net(self._standardise(stack[s : s + batch])).numpy())
        return np.concatenate(out) * self.target_scale

    def to_doc(self) -> dict[str, Any]:
        """Weights, standardisation and metadata as a plain document (what :meth:`save` writes)."""
        return {
            "format": CNN_FORMAT,
            "state_dict": self.net.state_dict(),
            "width": self.net.features[0].out_channels,
            "channels": channel_names(self.layers),
            "channel_mean": self.channel_mean.tolist(),
            "channel_std": self.channel_std.tolist(),
            "target_scale": self.target_scale,
            "layers": self.layers,
            "radius": self.radius,
            "meta": self.meta,
        }

    @classmethod
    def from_doc(cls, doc: Mapping[str, Any], path: str | Path) -> BiasCorrector:
        """The network of a document written by :meth:`to_doc` (``path`` names it in errors)."""
        if doc.get("format") != CNN_FORMAT or doc.get("channels") != channel_names(
            doc.get("layers", [])
        ):
            raise InputError(path, "not a bias-correction CNN of this version", "retrain it")
        net = BiasCNN(len(doc["channels"]), len(doc["layers"]), int(doc["width"]))
        net.load_state_dict(doc["state_dict"])
        return cls(
            net,
            np.asarray(doc["channel_mean"], np.float32),
            np.asarray(doc["channel_std"], np.float32),
            float(doc["target_scale"]),
            list(doc["layers"]),
            int(doc["radius"]),
            dict(doc.get("meta", {})),
        )

    def save(self, path: str | Path) -> Path:
        """Write weights, standardisation and metadata to one ``.pt`` file (atomically)."""
        return _save_doc(self.to_doc(), path)

    @classmethod
    def load(cls, path: str | Path) -> BiasCorrector:
        """Read a file written by :meth:`save`."""
        return cls.from_doc(_load_doc(path), path)


def _save_doc(doc: Mapping[str, Any], path: str | Path) -> Path:
    return save_torch(dict(doc), path)


def _load_doc(path: str | Path) -> dict[str, Any]:
    path = Path(path)
    try:
        return torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # torch raises several types for a bad file
        raise InputError(path, f"cannot be read as a bias-correction CNN ({exc})") from None


@dataclass
class CorrectorEnsemble:
    """Several networks of the same layout (different initialisations); predicts their mean.

    A single pretrained CNN depends strongly on its random initialisation (on
    the demo the held-out root-zone RMSE ranges over 0.027-0.042 m3/m3 across
    seeds); the mean of a few members is steadier and better than a typical member.
    """

    members: list[BiasCorrector]
    meta: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not self.members:
            raise ValueError("an ensemble needs at least one member")
        first = self.members[0]
        for m in self.members[1:]:
            if m.layers != first.layers or m.radius != first.radius:
                raise ValueError("ensemble members must correct the same layers with one radius")

    @property
    def layers(self) -> list[str]:
        return self.members[0].layers

    @property
    def radius(self) -> int:
        return self.members[0].radius

    def predict_patches(self, patches: np.ndarray, batch: int = 4096) -> np.ndarray:
        """``(N, C, P, P)`` patches -> ``(N, layers)``: the members' mean correction."""
        return np.mean([m.predict_patches(patches, batch) for m in self.members], axis=0)

    def predict_grid(self, stack: np.ndarray, batch: int = 16) -> np.ndarray:
        """``(T, C, H + 2r, W + 2r)`` -> ``(T, layers, H, W)``: the members' mean correction."""
        out = self.members[0].predict_grid(stack, batch)
        for m in self.members[1:]:
            out += m.predict_grid(stack, batch)
        return out / len(self.members)

    def save(self, path: str | Path) -> Path:
        """Write every member and the metadata to one ``.pt`` file (atomically)."""
        doc = {
            "format": ENSEMBLE_FORMAT,
            "members": [m.to_doc() for m in self.members],
            "meta": self.meta,
        }
        return _save_doc(doc, path)

    @classmethod
    def load(cls, path: str | Path) -> CorrectorEnsemble:
        """Read an ensemble file, or a single network's file as a one-member ensemble."""
        doc = _load_doc(path)
        if doc.get("format") == CNN_FORMAT:
            single = BiasCorrector.from_doc(doc, path)
            return cls([single], dict(single.meta))
        if doc.get("format") != ENSEMBLE_FORMAT or not doc.get("members"):
            raise InputError(path, "not a bias-correction CNN of this version", "retrain it")
        return cls(
            [BiasCorrector.from_doc(m, path) for m in doc["members"]], dict(doc.get("meta", {}))
        )


def new_corrector(
    patches: np.ndarray,
    targets: np.ndarray,
    layers: Sequence[str],
    *,
    width: int = 16,
    radius: int = 2,
    seed: int = 0,
) -> BiasCorrector:
    """An untrained network standardised on ``patches`` ``(N, C, P, P)`` and ``targets`` ``(N, L)``."""
    torch.manual_seed(seed)
    net = BiasCNN(patches.shape[1], len(layers), width)
    flat = patches.transpose(1, 0, 2, 3).reshape(patches.shape[1], -1)
    mean = np.nanmean(flat, axis=1).astype(np.float32)
    std = np.nanstd(flat, axis=1).astype(np.float32)
    std[~(std > 1e-12)] = 1.0
    scale = float(np.nanstd(targets)) or 1.0
    return BiasCorrector(net, mean, std, scale, list(layers), radius)


def fit(
    model: BiasCorrector,
    patches: np.ndarray,
    targets: np.ndarray,
    settings: TrainPhase,
    *,
    freeze_features: bool = False,
    augment: bool = True,
    seed: int = 0,
) -> list[float]:
    """Train ``model`` in place on patches ``(N, C, P, P)`` and targets ``(N, L)`` (NaN = no target).

    ``settings`` are the optimiser settings of the phase (the config's
    ``bias_correction.pretrain`` or ``finetune``). With ``freeze_features`` only the
    head learns (fine-tuning after pretraining); with ``augment`` each batch is
    rotated and flipped at random. Returns the mean training loss of each epoch.
    """
    for p in model.net.features.parameters():
        p.requires_grad_(not freeze_features)
    params = [p for p in model.net.parameters() if p.requires_grad]
    opt = torch.optim.Adam(params, lr=settings.learning_rate, weight_decay=settings.weight_decay)
    x_all = model._standardise(patches)
    y_all = torch.from_numpy((targets / model.target_scale).astype(np.float32))
    mask_all = torch.isfinite(y_all)
    y_all = torch.nan_to_num(y_all)
    gen = torch.Generator().manual_seed(seed)
    losses = []
    model.net.train()
    n = len(x_all)
    for _ in range(settings.epochs):
        order = torch.randperm(n, generator=gen)
        total, count = 0.0, 0
        for s in range(0, n, settings.batch_size):
            idx = order[s : s + settings.batch_size]
            xb = x_all[idx]
            if augment:
                # the patch's orientation carries no information: random rotation and flip
                k = int(torch.randint(4, (1,), generator=gen))
                xb = torch.rot90(xb, k, dims=(2, 3))
                if bool(torch.randint(2, (1,), generator=gen)):
                    xb = torch.flip(xb, dims=(3,))
            pred = model.net(xb)[:, :, 0, 0]
            m = mask_all[idx]
            if not m.any():
                continue
            loss = ((pred - y_all[idx]) ** 2)[m].mean()
            opt.zero_grad()
            loss.backward()
            opt.step()
            total += float(loss.detach()) * int(m.sum())
            count += int(m.sum())
        losses.append(total / max(count, 1))
    for p in model.net.parameters():
        p.requires_grad_(True)
    model.net.eval()
    return losses


def copy_corrector(model: BiasCorrector) -> BiasCorrector:
    """A deep copy (weights included) to fine-tune without touching the original."""
    net = BiasCNN(
        model.net.features[0].in_channels, len(model.layers), model.net.features[0].out_channels
    )
    net.load_state_dict(model.net.state_dict())
    return BiasCorrector(
        net,
        model.channel_mean.copy(),
        model.channel_std.copy(),
        model.target_scale,
        list(model.layers),
        model.radius,
        dict(model.meta),
    )
