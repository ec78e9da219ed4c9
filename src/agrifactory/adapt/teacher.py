"""The EMA teacher and the filter of its pseudo-labels.

The teacher is an exponential moving average of the student (Tarvainen & Valpola 2017).
Its probabilities for a target sample are the mean of ``passes`` stochastic forward
passes with dropout active and BatchNorm in evaluation mode (MC dropout, Gal &
Ghahramani 2016; :meth:`agrifactory.adapt.net.TempCNN.mc_proba` samples the last dropout
only); the **uncertainty** is the standard deviation over the passes of the
probability of the predicted class (the argmax of the mean). A pseudo-label is kept when
the mean probability of its class is at least ``confidence``, the uncertainty at most
``max_uncertainty``, and the predicted label was the same at each of the last
``stability_window`` refreshes (:class:`LabelHistory`). The ``pseudo_label`` baseline
keeps the confidence test only.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn


def ema_update(teacher: nn.Module, student: nn.Module, decay: float) -> None:
    """``t = decay * t + (1 - decay) * s`` for parameters and floating buffers (BatchNorm
    running mean and variance); integer buffers (``num_batches_tracked``) are copied."""
    with torch.no_grad():
        for t, s in zip(teacher.parameters(), student.parameters(), strict=True):
            t.mul_(decay).add_(s, alpha=1.0 - decay)
        for t, s in zip(teacher.buffers(), student.buffers(), strict=True):
            if t.dtype.is_floating_point:
                t.mul_(decay).add_(s, alpha=1.0 - decay)
            else:
                t.copy_(s)


def predictive_stats(passes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Mean probabilities ``(n, k)`` of ``passes (K, n, k)`` stochastic passes and the
    uncertainty ``(n,)``: the population s.d. over the passes of the probability of the
    predicted class (the argmax of the mean)."""
    p = np.asarray(passes, dtype=np.float64)
    mean = p.mean(axis=0)
    top = mean.argmax(axis=1)
    picked = p[:, np.arange(len(top)), top]
    return mean, picked.std(axis=0)


class LabelHistory:
    """The predicted labels of ``n`` target samples at the last ``window`` refreshes."""

    def __init__(self, n: int, window: int) -> None:
        self.window = max(1, int(window))
        self.labels = np.full((self.window, n), -1, dtype=np.int64)
        self.count = 0

    def update(self, labels: np.ndarray) -> None:
        """Record one refresh's labels (class indices, ``>= 0``)."""
        self.labels = np.roll(self.labels, -1, axis=0)
        self.labels[-1] = labels
        self.count += 1

    def stable(self) -> np.ndarray:
        """True where the label was the same at each of the last ``window`` refreshes
        (all False until ``window`` refreshes were recorded)."""
        if self.count < self.window:
            return np.zeros(self.labels.shape[1], dtype=bool)
        return np.all(self.labels == self.labels[-1], axis=0)


def pseudo_label_mask(
    proba: np.ndarray,
    *,
    confidence: float,
    uncertainty: np.ndarray | None = None,
    max_uncertainty: float | None = None,
    stable: np.ndarray | None = None,
) -> np.ndarray:
    """Rows whose pseudo-label is kept: ``max proba >= confidence`` and, when given,
    ``uncertainty <= max_uncertainty`` and ``stable``. With only ``confidence`` this is
    the confidence-only filter of the ``pseudo_label`` baseline (a superset)."""
    keep = np.asarray(proba).max(axis=1) >= confidence
    if max_uncertainty is not None:
        if uncertainty is None:
            raise ValueError("max_uncertainty needs the uncertainty of each row")
        keep &= np.asarray(uncertainty) <= max_uncertainty
    if stable is not None:
        keep &= np.asarray(stable, dtype=bool)
    return keep
