"""A lightweight 1-D CNN for crop type from (channels x time) features (PyTorch).

The network follows the TempCNN/CropNet pattern for satellite image time series:
``n_blocks`` convolution blocks (Conv1d, BatchNorm, ReLU, dropout) along time, then
either a flattening dense head (keeps the timing of the season, the default) or
global average+max pooling (fewer weights, shift-invariant). Inputs are standardised
per channel with the training mean and standard deviation. Training batches are
augmented with random time shift, time scaling and magnitude warping
(:mod:`agrifactory.classify.augment`, CropGlobe 2025) and, optionally, mixup.
``n_members > 1`` trains that many networks with consecutive seeds and averages
their probabilities (one saved state dict, keys ``members.<i>.*``).

Features arrive as a 2-D matrix whose columns are channel-major: all time steps of
channel 0, then of channel 1, and so on (``n_features = n_channels * n_times``).
Training is deterministic on CPU for a seed (torch seeded, shuffling and
augmentation from a NumPy generator).
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any, ClassVar

import numpy as np

from agrifactory.classify.augment import augment_batch, mixup
from agrifactory.classify.base import Classifier
from agrifactory.errors import ConfigError

log = logging.getLogger(__name__)


def _build_net(
    n_channels: int,
    n_times: int,
    n_classes: int,
    *,
    hidden: int,
    n_blocks: int,
    kernel_size: int,
    dropout: float,
    head: str,
    dense: int,
) -> Any:
    from torch import nn

    layers: list[nn.Module] = []
    c = n_channels
    for _ in range(n_blocks):
        layers += [
            nn.Conv1d(c, hidden, kernel_size, padding=kernel_size // 2, bias=False),
            nn.BatchNorm1d(hidden),
            nn.ReLU(),
            nn.Dropout(dropout),
        ]
        c = hidden
    layers += _head(hidden, n_times, n_classes, head=head, dense=dense, dropout=dropout)
    return nn.Sequential(*layers)


def _head(
    channels: int, n_times: int, n_classes: int, *, head: str, dense: int, dropout: float
) -> list[Any]:
    """Classifier head on ``(n, channels, n_times)`` features: ``flatten`` or ``pool``."""
    import torch
    from torch import nn

    class Pool(nn.Module):
        def forward(self, h: torch.Tensor) -> torch.Tensor:
            return torch.cat([h.mean(dim=-1), h.amax(dim=-1)], dim=1)

    if head == "flatten":
        return [
            nn.Flatten(),
            nn.Linear(channels * n_times, dense, bias=False),
            nn.BatchNorm1d(dense),
            nn.ReLU(),
            nn.Dropout(dropout),
            nn.Linear(dense, n_classes),
        ]
    if head == "pool":
        return [Pool(), nn.Dropout(dropout), nn.Linear(2 * channels, n_classes)]
    raise ConfigError(f"cnn head must be 'flatten' or 'pool', got {head!r}")


def _build_inception(
    n_channels: int,
    n_times: int,
    n_classes: int,
    *,
    hidden: int,
    n_blocks: int,
    kernels: tuple[int, ...],
    dropout: float,
    head: str,
    dense: int,
) -> Any:
    """InceptionTime-style network (Ismail Fawaz et al. 2020), sized for short series.

    ``n_blocks`` modules; each has a 1x1 bottleneck of ``hidden`` channels, parallel
    convolutions of the odd ``kernels`` and a max-pool + 1x1 branch (``hidden`` filters
    each), BatchNorm and ReLU. A residual shortcut (1x1 convolution + BatchNorm) is
    added after every third module (and after the last).
    """
    import torch
    from torch import nn

    class Module(nn.Module):
        def __init__(self, c_in: int) -> None:
            super().__init__()
            self.bottleneck = nn.Conv1d(c_in, hidden, 1, bias=False)
            self.convs = nn.ModuleList(
                nn.Conv1d(hidden, hidden, k, padding=k // 2, bias=False) for k in kernels
            )
            self.pool = nn.Sequential(
                nn.MaxPool1d(3, stride=1, padding=1), nn.Conv1d(c_in, hidden, 1, bias=False)
            )
            self.bn = nn.BatchNorm1d(hidden * (len(kernels) + 1))

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            b = self.bottleneck(x)
            h = torch.cat([conv(b) for conv in self.convs] + [self.pool(x)], dim=1)
            return torch.relu(self.bn(h))

    class Net(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            width = hidden * (len(kernels) + 1)
            self.blocks = nn.ModuleList(
                Module(n_channels if i == 0 else width) for i in range(n_blocks)
            )
            ends = [i for i in range(n_blocks) if i % 3 == 2 or i == n_blocks - 1]
            self.ends = ends
            self.shortcuts = nn.ModuleList(
                nn.Sequential(
                    nn.Conv1d(n_channels if j == 0 else width, width, 1, bias=False),
                    nn.BatchNorm1d(width),
                )
                for j in range(len(ends))
            )
            self.drop = nn.Dropout(dropout)
            self.head = nn.Sequential(
                *_head(width, n_times, n_classes, head=head, dense=dense, dropout=dropout)
            )

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            res, j = x, 0
            for i, block in enumerate(self.blocks):
                x = block(x)
                if i == self.ends[j]:
                    x = torch.relu(x + self.shortcuts[j](res))
                    res, j = x, j + 1
            return self.head(self.drop(x))

    if any(k % 2 == 0 for k in kernels) or n_blocks < 1:
        raise ConfigError(f"inception needs odd kernels and n_blocks >= 1, got {kernels}")
    return Net()


def _ensemble(members: list[Any]) -> Any:
    """One module whose logits are ``log`` of the members' mean softmax.

    A softmax of its output is exactly the mean of the members' probabilities.
    """
    import torch
    from torch import nn

    class Ensemble(nn.Module):
        def __init__(self, nets: list[nn.Module]) -> None:
            super().__init__()
            self.members = nn.ModuleList(nets)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            p = torch.stack([torch.softmax(m(x), dim=1) for m in self.members]).mean(dim=0)
            return torch.log(p)

    return Ensemble(members)


def with_series_norm(series: np.ndarray, mode: str) -> np.ndarray:
    """Per-series z-normalisation of every channel over time (``off|append|replace``).

    ``append`` gives ``(n, 2c, t)``: the series, then each channel minus its own mean
    over time divided by its own standard deviation (1 where that is 0); ``replace``
    keeps only the normalised channels (shape only, not level or amplitude).
    """
    if mode == "off":
        return series
    std = series.std(axis=-1, keepdims=True)
    z = (series - series.mean(axis=-1, keepdims=True)) / np.where(std > 0, std, 1.0)
    if mode == "replace":
        return z
    if mode == "append":
        return np.concatenate([series, z], axis=1)
    raise ConfigError(f"cnn series_norm must be 'off', 'append' or 'replace', got {mode!r}")


def with_differences(series: np.ndarray) -> np.ndarray:
    """Append the first difference of every channel: ``(n, c, t) -> (n, 2c, t)``.

    The difference at the first date is 0 (``x[t] - x[t-1]`` with ``x[-1] := x[0]``).
    """
    d = np.diff(series, axis=-1, prepend=series[..., :1])
    return np.concatenate([series, d], axis=1)


def set_threads(num_threads: int | None) -> None:
    """Set torch's intra-op threads (``None`` leaves torch's setting)."""
    import torch

    if num_threads is not None:
        torch.set_num_threads(int(num_threads))


def softmax_in_batches(net: Any, x: np.ndarray, batch: int = 4096) -> np.ndarray:
    """Class probabilities (float64) of a network in evaluation mode, ``batch`` rows at a time."""
    import torch

    out = []
    with torch.no_grad():
        for s in range(0, len(x), batch):
            logits = net(torch.from_numpy(x[s : s + batch]))
            out.append(torch.softmax(logits.double(), dim=1).numpy())
    return np.concatenate(out)


class CNNClassifier(Classifier):
    """Lightweight 1-D CNN with temporal augmentation (see module docstring).

    Parameters (``default_params``): ``n_channels`` (features per time step),
    ``differences`` (append each channel's first difference as a channel),
    ``hidden`` (filters per block), ``n_blocks``, ``kernel_size``, ``dropout``,
    ``head`` (``flatten`` | ``pool``), ``dense`` (units of the flatten head),
    ``epochs``, ``batch_size``, ``learning_rate`` (peak of a one-cycle schedule),
    ``weight_decay`` (AdamW), ``label_smoothing``, ``augment_shift`` (time steps),
    ``augment_scale`` (relative), ``augment_magnitude`` (warp s.d.), ``augment_p``
    (share of series augmented per transform), ``mixup`` (Beta parameter, 0 = off),
    ``n_members`` (networks trained with seeds ``seed, seed + 1, ...`` whose
    probabilities are averaged), ``arch`` (``tempcnn`` | ``inception``, see
    :func:`_build_inception`), ``inception_kernels`` (its parallel kernel sizes),
    ``series_norm`` (``off`` | ``append`` | ``replace``: per-series z-normalised
    channels, :func:`with_series_norm`), ``ema`` (decay of an exponential moving
    average of the weights and BatchNorm statistics used after training; 0 = off),
    ``member_params`` (a list of parameter overrides, one per ensemble member, for
    members of different architectures; each is trained ``n_members`` times),
    ``num_threads`` (torch intra-op threads; None leaves torch's setting).
    """

    kind = "cnn1d"
    weights_file = "weights.pt"
    default_params: ClassVar[dict[str, Any]] = {
        "n_channels": 1,
        "differences": False,
        "hidden": 64,
        "n_blocks": 3,
        "kernel_size": 5,
        "dropout": 0.3,
        "head": "flatten",
        "dense": 256,
        "epochs": 60,
        "batch_size": 128,
        "learning_rate": 5e-3,
        "weight_decay": 1e-4,
        "label_smoothing": 0.0,
        "augment_shift": 0.0,
        "augment_scale": 0.0,
        "augment_magnitude": 0.0,
        "augment_p": 0.5,
        "mixup": 0.0,
        "n_members": 1,
        "arch": "tempcnn",
        "inception_kernels": [5, 11, 23],
        "series_norm": "off",
        "ema": 0.0,
        "member_params": [],
        "num_threads": None,
    }
    #: Keys that ``member_params`` may override (architecture and training, not inputs).
    member_keys: ClassVar[frozenset[str]] = frozenset(
        {
            "arch",
            "hidden",
            "n_blocks",
            "kernel_size",
            "inception_kernels",
            "dropout",
            "head",
            "dense",
            "epochs",
            "batch_size",
            "learning_rate",
            "weight_decay",
            "label_smoothing",
            "ema",
            "augment_shift",
            "augment_scale",
            "augment_magnitude",
            "augment_p",
            "mixup",
        }
    )

    # -- shapes -----------------------------------------------------------------------
    def _series(self, X: np.ndarray) -> np.ndarray:
        c = int(self.params["n_channels"])
        if c < 1 or X.shape[1] % c:
            raise ConfigError(
                f"cnn n_channels = {c} does not divide the {X.shape[1]} feature columns; "
                "columns must be channel-major (all dates of channel 0, then channel 1, ...)"
            )
        series = X.reshape(X.shape[0], c, X.shape[1] // c)
        series = with_differences(series) if self.params["differences"] else series
        return with_series_norm(series, str(self.params["series_norm"]))

    def _members(self) -> list[dict[str, Any]]:
        """Parameters of every ensemble member: each override, ``n_members`` times."""
        overrides = list(self.params["member_params"]) or [{}]
        for o in overrides:
            bad = sorted(set(o) - self.member_keys)
            if bad:
                raise ConfigError(
                    f"cnn member_params may set {sorted(self.member_keys)}, not {bad}"
                )
        n = int(self.params["n_members"])
        return [{**self.params, **o} for o in overrides for _ in range(n)]

    def _net(self, n_times: int) -> Any:
        members = [self._member(n_times, p) for p in self._members()]
        return members[0] if len(members) == 1 else _ensemble(members)

    def _member(self, n_times: int, p: dict[str, Any] | None = None) -> Any:
        p = self.params if p is None else p
        c = int(p["n_channels"]) * (2 if p["differences"] else 1)
        c *= 2 if p["series_norm"] == "append" else 1
        shared = {
            "hidden": int(p["hidden"]),
            "n_blocks": int(p["n_blocks"]),
            "dropout": float(p["dropout"]),
            "head": str(p["head"]),
            "dense": int(p["dense"]),
        }
        if p["arch"] == "tempcnn":
            return _build_net(
                c, n_times, len(self.classes_), kernel_size=int(p["kernel_size"]), **shared
            )
        if p["arch"] == "inception":
            kernels = tuple(int(k) for k in p["inception_kernels"])
            return _build_inception(c, n_times, len(self.classes_), kernels=kernels, **shared)
        raise ConfigError(f"cnn arch must be 'tempcnn' or 'inception', got {p['arch']!r}")

    def _set_threads(self) -> None:
        set_threads(self.params["num_threads"])

    # -- training -----------------------------------------------------------------------
    def _fit(self, X: np.ndarray, y_index: np.ndarray, seed: int) -> None:
        self._set_threads()
        series = self._series(X)
        self.mean_ = series.mean(axis=(0, 2))
        std = series.std(axis=(0, 2))
        self.std_ = np.where(std > 0, std, 1.0)
        z = ((series - self.mean_[None, :, None]) / self.std_[None, :, None]).astype(np.float32)
        self.n_times_ = z.shape[-1]
        members = [
            self._train_member(z, y_index, seed + i, p) for i, p in enumerate(self._members())
        ]
        self.net_ = members[0] if len(members) == 1 else _ensemble(members).eval()

    def _train_member(
        self, z: np.ndarray, y_index: np.ndarray, seed: int, p: dict[str, Any]
    ) -> Any:
        """One network with parameters ``p`` trained on standardised ``z (n, c, t)``."""
        import torch
        from torch import nn
        from torch.optim.swa_utils import AveragedModel, get_ema_multi_avg_fn

        torch.manual_seed(seed)
        rng = np.random.default_rng(seed)
        net = self._member(self.n_times_, p)
        ema = float(p["ema"])
        avg = (
            AveragedModel(net, multi_avg_fn=get_ema_multi_avg_fn(ema), use_buffers=True)
            if ema > 0
            else None
        )
        epochs, batch = int(p["epochs"]), int(p["batch_size"])
        steps = max(1, int(np.ceil(len(z) / batch)))
        opt = torch.optim.AdamW(
            net.parameters(), lr=float(p["learning_rate"]), weight_decay=float(p["weight_decay"])
        )
        sched = torch.optim.lr_scheduler.OneCycleLR(
            opt, max_lr=float(p["learning_rate"]), total_steps=epochs * steps
        )
        loss_fn = nn.CrossEntropyLoss(label_smoothing=float(p["label_smoothing"]))
        targets = torch.as_tensor(y_index, dtype=torch.long)
        net.train()
        for epoch in range(epochs):
            order = rng.permutation(len(z))
            total = 0.0
            for s in range(steps):
                idx = order[s * batch : (s + 1) * batch]
                if len(idx) < 2:  # BatchNorm needs two samples
                    continue
                xb = augment_batch(
                    z[idx],
                    rng,
                    shift=float(p["augment_shift"]),
                    scale=float(p["augment_scale"]),
                    magnitude=float(p["augment_magnitude"]),
                    p=float(p["augment_p"]),
                )
                xb, perm, lam = mixup(xb, rng, float(p["mixup"]))
                opt.zero_grad()
                out = net(torch.from_numpy(xb))
                loss = loss_fn(out, targets[idx])
                if lam < 1:
                    loss = lam * loss + (1 - lam) * loss_fn(out, targets[idx[perm]])
                loss.backward()
                opt.step()
                sched.step()
                if avg is not None:
                    avg.update_parameters(net)
                total += loss.item() * len(idx)
            if epoch == 0 or (epoch + 1) % 10 == 0 or epoch + 1 == epochs:
                log.info("cnn epoch %d/%d: training loss %.4f", epoch + 1, epochs, total / len(z))
        return (net if avg is None else avg.module).eval()

    def _proba(self, X: np.ndarray) -> np.ndarray:
        self._set_threads()
        series = self._series(X)
        if series.shape[-1] != self.n_times_:
            raise ConfigError(
                f"the cnn was trained on {self.n_times_} time steps, got {series.shape[-1]}"
            )
        z = ((series - self.mean_[None, :, None]) / self.std_[None, :, None]).astype(np.float32)
        return softmax_in_batches(self.net_, z)

    # -- persistence ----------------------------------------------------------------------
    def _state(self) -> dict[str, Any]:
        return {"mean": self.mean_.tolist(), "std": self.std_.tolist(), "n_times": self.n_times_}

    def _load_state(self, state: dict[str, Any]) -> None:
        self.mean_ = np.asarray(state["mean"], dtype=np.float64)
        self.std_ = np.asarray(state["std"], dtype=np.float64)
        self.n_times_ = int(state["n_times"])

    def _save_weights(self, path: Path) -> None:
        import torch

        torch.save(self.net_.state_dict(), path)

    def _load_weights(self, path: Path) -> None:
        import torch

        net = self._net(self.n_times_)
        net.load_state_dict(torch.load(path, map_location="cpu", weights_only=True))
        net.eval()
        self.net_ = net
