"""A lightweight 1-D CNN for crop type from (channels x time) features (PyTorch).

The network follows the TempCNN/CropNet pattern for satellite image time series:
``n_blocks`` convolution blocks (Conv1d, BatchNorm, ReLU, dropout) along time, then
either a flattening dense head (keeps the timing of the season, the default) or
global average+max pooling (fewer weights, shift-invariant). Inputs are standardised
per channel with the training mean and standard deviation. Training batches are
augmented with random time shift, time scaling and magnitude warping
(:mod:`agrifactory.classify.augment`, CropGlobe 2025).

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

from agrifactory.classify.augment import augment_batch
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
    import torch
    from torch import nn

    class Pool(nn.Module):
        def forward(self, h: torch.Tensor) -> torch.Tensor:
            return torch.cat([h.mean(dim=-1), h.amax(dim=-1)], dim=1)

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
    if head == "flatten":
        layers += [
            nn.Flatten(),
            nn.Linear(hidden * n_times, dense, bias=False),
            nn.BatchNorm1d(dense),
            nn.ReLU(),
            nn.Dropout(dropout),
            nn.Linear(dense, n_classes),
        ]
    elif head == "pool":
        layers += [Pool(), nn.Dropout(dropout), nn.Linear(2 * hidden, n_classes)]
    else:
        raise ConfigError(f"cnn head must be 'flatten' or 'pool', got {head!r}")
    return nn.Sequential(*layers)


class CNNClassifier(Classifier):
    """Lightweight 1-D CNN with temporal augmentation (see module docstring).

    Parameters (``default_params``): ``n_channels`` (features per time step),
    ``hidden`` (filters per block), ``n_blocks``, ``kernel_size``, ``dropout``,
    ``head`` (``flatten`` | ``pool``), ``dense`` (units of the flatten head),
    ``epochs``, ``batch_size``, ``learning_rate`` (peak of a one-cycle schedule),
    ``weight_decay`` (AdamW), ``label_smoothing``, ``augment_shift`` (time steps),
    ``augment_scale`` (relative), ``augment_magnitude`` (warp s.d.), ``augment_p``
    (share of series augmented per transform), ``num_threads`` (torch intra-op
    threads; None leaves torch's setting).
    """

    kind = "cnn1d"
    weights_file = "weights.pt"
    default_params: ClassVar[dict[str, Any]] = {
        "n_channels": 1,
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
        "num_threads": None,
    }

    # -- shapes -----------------------------------------------------------------------
    def _series(self, X: np.ndarray) -> np.ndarray:
        c = int(self.params["n_channels"])
        if c < 1 or X.shape[1] % c:
            raise ConfigError(
                f"cnn n_channels = {c} does not divide the {X.shape[1]} feature columns; "
                "columns must be channel-major (all dates of channel 0, then channel 1, ...)"
            )
        return X.reshape(X.shape[0], c, X.shape[1] // c)

    def _net(self, n_times: int) -> Any:
        p = self.params
        return _build_net(
            int(p["n_channels"]),
            n_times,
            len(self.classes_),
            hidden=int(p["hidden"]),
            n_blocks=int(p["n_blocks"]),
            kernel_size=int(p["kernel_size"]),
            dropout=float(p["dropout"]),
            head=str(p["head"]),
            dense=int(p["dense"]),
        )

    def _set_threads(self) -> None:
        import torch

        if self.params["num_threads"] is not None:
            torch.set_num_threads(int(self.params["num_threads"]))

    # -- training -----------------------------------------------------------------------
    def _fit(self, X: np.ndarray, y_index: np.ndarray, seed: int) -> None:
        import torch
        from torch import nn

        self._set_threads()
        p = self.params
        series = self._series(X)
        self.mean_ = series.mean(axis=(0, 2))
        std = series.std(axis=(0, 2))
        self.std_ = np.where(std > 0, std, 1.0)
        z = ((series - self.mean_[None, :, None]) / self.std_[None, :, None]).astype(np.float32)
        self.n_times_ = z.shape[-1]

        torch.manual_seed(seed)
        rng = np.random.default_rng(seed)
        net = self._net(self.n_times_)
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
                opt.zero_grad()
                loss = loss_fn(net(torch.from_numpy(xb)), targets[idx])
                loss.backward()
                opt.step()
                sched.step()
                total += loss.item() * len(idx)
            if epoch == 0 or (epoch + 1) % 10 == 0 or epoch + 1 == epochs:
                log.info("cnn epoch %d/%d: training loss %.4f", epoch + 1, epochs, total / len(z))
        net.eval()
        self.net_ = net

    def _proba(self, X: np.ndarray) -> np.ndarray:
        import torch

        self._set_threads()
        series = self._series(X)
        if series.shape[-1] != self.n_times_:
            raise ConfigError(
                f"the cnn was trained on {self.n_times_} time steps, got {series.shape[-1]}"
            )
        z = ((series - self.mean_[None, :, None]) / self.std_[None, :, None]).astype(np.float32)
        out = []
        with torch.no_grad():
            for s in range(0, len(z), 4096):
                logits = self.net_(torch.from_numpy(z[s : s + 4096]))
                out.append(torch.softmax(logits.double(), dim=1).numpy())
        return np.concatenate(out)

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
