"""A small 2-D CNN for crop type on the (bands x months) image of monthly composites.

The ``composites`` rule writes one band per spectral band and month,
``monthly_{band}_{MM}`` (blue .. swir2, ndvi .. grvi; months 01..12). Here each
sample's ``monthly_*`` features are laid out as an image of ``bands x months`` rows
and columns (bands in the order they first appear, months ascending) with two
channels: the value, standardised per band with the training mean and standard
deviation, and a mask (1 observed, 0 missing). A missing value (NaN: a month without
a clear observation) is filled with its band's training mean, i.e. 0 after
standardisation, and its mask is 0, so the network sees both the filled value and
that it was filled.

The network follows CropNet's pattern of small 2-D kernels over a (band, time)
image: two 3 x 3 convolutions over (band, month), one convolution spanning all bands
(collapsing the band axis), a dense layer over the months and the class layer (about
30,000 weights with the defaults and 9 bands x 12 months).

Training batches can be augmented along the month axis only (every band of a
sample the same way): a shift by whole months (the months shifted in are missing),
dropout of whole months (every band of the month missing) and a small stretch or
compression of the season (:func:`agrifactory.classify.augment.time_scale`). Training
is deterministic on CPU for a seed (torch seeded; shuffling and augmentation from a
NumPy generator).
"""

from __future__ import annotations

import logging
import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any, ClassVar

import numpy as np

from agrifactory.classify.augment import time_scale
from agrifactory.classify.base import Classifier
from agrifactory.classify.cnn import set_threads, softmax_in_batches
from agrifactory.errors import DataError

log = logging.getLogger(__name__)

#: Prefix of the monthly composite bands in the classifiers' stack.
MONTHLY_PREFIX = "monthly_"
_NAME = re.compile(rf"^{MONTHLY_PREFIX}([a-z][a-z0-9]*)_(\d\d)$")


def monthly_layout(names: Sequence[str]) -> tuple[list[str], list[int], np.ndarray]:
    """Bands, months and the column of every (band, month) cell of ``monthly_*`` names.

    Returns
    -------
    bands, months, order
        Bands in order of first appearance, months ascending, and ``order (bands,
        months)``: the index in ``names`` of ``monthly_{band}_{MM}``.

    Raises
    ------
    DataError
        Naming the features that are not ``monthly_{band}_{MM}`` (month 01..12) and the
        (band, month) cells that are missing or given twice.
    """
    parsed = [_NAME.match(str(n)) for n in names]
    bad = [
        str(n) for n, m in zip(names, parsed, strict=True) if m is None or not 1 <= int(m[2]) <= 12
    ]
    if bad:
        raise DataError(
            f"the cnn2d model takes only monthly composite features named "
            f"'{MONTHLY_PREFIX}<band>_<MM>' (MM 01..12); got {bad[:10]}"
            f"{' ...' if len(bad) > 10 else ''}; select them with features: ['{MONTHLY_PREFIX}*']"
        )
    cells = [(m[1], int(m[2])) for m in parsed]
    bands = list(dict.fromkeys(b for b, _ in cells))
    months = sorted({mm for _, mm in cells})
    index = {cell: i for i, cell in enumerate(cells)}
    twice = sorted({f"{MONTHLY_PREFIX}{b}_{mm:02d}" for b, mm in cells if cells.count((b, mm)) > 1})
    missing = [
        f"{MONTHLY_PREFIX}{b}_{mm:02d}" for b in bands for mm in months if (b, mm) not in index
    ]
    if twice or missing:
        raise DataError(
            f"the monthly features do not form a full bands x months image: missing "
            f"{missing[:10]}, duplicated {twice[:10]} (bands {bands}, months {months}); "
            "rerun the composites rule or select whole bands"
        )
    order = np.array([[index[(b, mm)] for mm in months] for b in bands], dtype=np.int64)
    return bands, months, order


# --- augmentation (NumPy, host memory) ------------------------------------------------


def month_shift(x: np.ndarray, rng: np.random.Generator, max_shift: int) -> np.ndarray:
    """Shift each sample of ``x (n, 2, bands, months)`` by a whole number of months in
    ``[-max_shift, max_shift]``; months shifted in are missing (value 0, mask 0)."""
    n, _, _, t = x.shape
    out = np.zeros_like(x)
    shifts = rng.integers(-max_shift, max_shift + 1, size=n)
    for s in np.unique(shifts):
        rows = shifts == s
        if s >= 0:
            out[rows, ..., s:] = x[rows, ..., : t - s]
        else:
            out[rows, ..., :s] = x[rows, ..., -s:]
    return out


def month_dropout(x: np.ndarray, rng: np.random.Generator, p: float) -> np.ndarray:
    """Set each month of each sample missing (every band: value 0, mask 0) with
    probability ``p``."""
    n, _, _, t = x.shape
    keep = rng.random((n, t)) >= p
    return x * keep[:, None, None, :].astype(x.dtype)


def month_scale(x: np.ndarray, rng: np.random.Generator, max_scale: float) -> np.ndarray:
    """Stretch or compress each sample's season by ``1 + U(-max_scale, max_scale)``
    about its centre (linear in months, edges held), all bands and the mask alike."""
    n, c, b, t = x.shape
    return time_scale(x.reshape(n, c * b, t), rng, max_scale).reshape(n, c, b, t)


def augment_months(
    x: np.ndarray,
    rng: np.random.Generator,
    *,
    shift: int = 0,
    dropout: float = 0.0,
    scale: float = 0.0,
    p: float = 0.5,
) -> np.ndarray:
    """Apply each month-axis augmentation to a random share ``p`` of the samples of a
    batch ``x (n, 2, bands, months)``; zero strengths give the batch back."""
    out = np.array(x, copy=True)
    transforms = ((shift, month_shift), (dropout, month_dropout), (scale, month_scale))
    for strength, func in transforms:
        if strength <= 0:
            continue
        chosen = rng.random(len(out)) < p
        if chosen.any():
            out[chosen] = func(out[chosen], rng, strength)
    return out


# --- the network ------------------------------------------------------------------------


def _build_net(
    n_bands: int, n_months: int, n_classes: int, *, hidden: int, dense: int, dropout: float
) -> Any:
    from torch import nn

    h2 = 2 * hidden
    return nn.Sequential(
        nn.Conv2d(2, hidden, 3, padding=1, bias=False),
        nn.BatchNorm2d(hidden),
        nn.ReLU(),
        nn.Conv2d(hidden, hidden, 3, padding=1, bias=False),
        nn.BatchNorm2d(hidden),
        nn.ReLU(),
        nn.Dropout(dropout),
        nn.Conv2d(hidden, h2, (n_bands, 1), bias=False),  # all bands -> one row
        nn.BatchNorm2d(h2),
        nn.ReLU(),
        nn.Dropout(dropout),
        nn.Flatten(),
        nn.Linear(h2 * n_months, dense),
        nn.ReLU(),
        nn.Dropout(dropout),
        nn.Linear(dense, n_classes),
    )


class CNN2DClassifier(Classifier):
    """Small 2-D CNN on the (bands x months) image of ``monthly_*`` features (see the
    module docstring). NaN features are missing values (filled and masked).

    Parameters (``default_params``): ``hidden`` (filters of the 3 x 3 convolutions; the
    band-spanning one has twice as many), ``dense`` (units over the months),
    ``dropout``, ``epochs``, ``batch_size``, ``learning_rate`` (peak of a one-cycle
    schedule), ``weight_decay`` (AdamW), ``label_smoothing``, ``augment_shift`` (whole
    months), ``augment_dropout`` (probability per month), ``augment_scale`` (relative
    season stretch), ``augment_p`` (share of samples per transform), ``num_threads``
    (torch intra-op threads; None leaves torch's setting).
    """

    kind = "cnn2d"
    allow_nan = True
    weights_file = "weights.pt"
    default_params: ClassVar[dict[str, Any]] = {
        "hidden": 16,
        "dense": 64,
        "dropout": 0.2,
        "epochs": 40,
        "batch_size": 64,
        "learning_rate": 5e-3,
        "weight_decay": 1e-4,
        "label_smoothing": 0.0,
        "augment_shift": 0,
        "augment_dropout": 0.0,
        "augment_scale": 0.0,
        "augment_p": 0.5,
        "num_threads": None,
    }

    # -- layout and inputs -------------------------------------------------------------
    def _layout(self) -> None:
        self.bands_, self.months_, self.order_ = monthly_layout(self.feature_names_)

    def images(self, X: np.ndarray) -> np.ndarray:
        """``float32 (n, 2, bands, months)``: standardised values (missing: 0) and mask."""
        cube = X[:, self.order_]
        observed = np.isfinite(cube)
        z = (cube - self.mean_[None, :, None]) / self.std_[None, :, None]
        z = np.where(observed, z, 0.0)
        return np.stack([z, observed], axis=1).astype(np.float32)

    def _net(self) -> Any:
        p = self.params
        return _build_net(
            len(self.bands_),
            len(self.months_),
            len(self.classes_),
            hidden=int(p["hidden"]),
            dense=int(p["dense"]),
            dropout=float(p["dropout"]),
        )

    def _set_threads(self) -> None:
        set_threads(self.params["num_threads"])

    def n_weights(self) -> int:
        """Trainable weights of the fitted network."""
        return int(sum(w.numel() for w in self.net_.parameters() if w.requires_grad))

    # -- training ------------------------------------------------------------------------
    def _standardisation(self, X: np.ndarray) -> None:
        cube = X[:, self.order_]
        seen = np.isfinite(cube).any(axis=(0, 2))
        if not seen.all():
            empty = [b for b, s in zip(self.bands_, seen, strict=True) if not s]
            raise DataError(f"monthly bands {empty} have no value at any training sample")
        self.mean_ = np.nanmean(cube, axis=(0, 2))
        std = np.nanstd(cube, axis=(0, 2))
        self.std_ = np.where(std > 0, std, 1.0)

    def _fit(self, X: np.ndarray, y_index: np.ndarray, seed: int) -> None:
        import torch
        from torch import nn

        self._set_threads()
        self._layout()
        self._standardisation(X)
        images = self.images(X)
        p = self.params
        torch.manual_seed(seed)
        rng = np.random.default_rng(seed)
        net = self._net()
        epochs, batch = int(p["epochs"]), int(p["batch_size"])
        steps = max(1, int(np.ceil(len(images) / batch)))
        lr = float(p["learning_rate"])
        opt = torch.optim.AdamW(net.parameters(), lr=lr, weight_decay=float(p["weight_decay"]))
        sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=lr, total_steps=epochs * steps)
        loss_fn = nn.CrossEntropyLoss(label_smoothing=float(p["label_smoothing"]))
        targets = torch.as_tensor(y_index, dtype=torch.long)
        augment = {
            "shift": int(p["augment_shift"]),
            "dropout": float(p["augment_dropout"]),
            "scale": float(p["augment_scale"]),
            "p": float(p["augment_p"]),
        }
        net.train()
        for epoch in range(epochs):
            order = rng.permutation(len(images))
            total = 0.0
            for s in range(steps):
                idx = order[s * batch : (s + 1) * batch]
                if len(idx) < 2:  # BatchNorm needs two samples
                    continue
                xb = augment_months(images[idx], rng, **augment)
                opt.zero_grad()
                loss = loss_fn(net(torch.from_numpy(xb)), targets[idx])
                loss.backward()
                opt.step()
                sched.step()
                total += loss.item() * len(idx)
            if epoch == 0 or (epoch + 1) % 10 == 0 or epoch + 1 == epochs:
                log.info("cnn2d epoch %d/%d: training loss %.4f", epoch + 1, epochs, total / len(X))
        net.eval()
        self.net_ = net
        self.metrics["n_weights"] = self.n_weights()

    def _proba(self, X: np.ndarray) -> np.ndarray:
        self._set_threads()
        return softmax_in_batches(self.net_, self.images(X))

    # -- persistence ----------------------------------------------------------------------
    def _state(self) -> dict[str, Any]:
        return {"mean": self.mean_.tolist(), "std": self.std_.tolist(), "bands": self.bands_}

    def _load_state(self, state: dict[str, Any]) -> None:
        self._layout()
        self.mean_ = np.asarray(state["mean"], dtype=np.float64)
        self.std_ = np.asarray(state["std"], dtype=np.float64)

    def _save_weights(self, path: Path) -> None:
        from agrifactory.io.torchfile import save_torch

        save_torch(self.net_.state_dict(), path)

    def _load_weights(self, path: Path) -> None:
        import torch

        net = self._net()
        net.load_state_dict(torch.load(path, map_location="cpu", weights_only=True))
        net.eval()
        self.net_ = net
