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

With a ``share`` the confidence test is also class-balanced (CBST, Zou et al. 2018):
of the rows predicted as each class only the ``share`` most confident are candidates
(:func:`class_balanced_top`), so a class the teacher finds easy does not crowd out the
others.
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


def ema_decay_at(step: int, decay: float) -> float:
    """Decay of the ``step``-th update (from 0): ``min(decay, 1 - 1 / (step + 2))``
    (Tarvainen & Valpola 2017), so that the teacher forgets its random start early
    instead of carrying ``decay ** step`` of it."""
    return min(float(decay), 1.0 - 1.0 / (int(step) + 2))


def ramp_weight(progress: float, rampup: float) -> float:
    """Weight ``exp(-5 (1 - t)^2)`` with ``t = min(1, progress / rampup)`` (Laine & Aila
    2017's sigmoid-shaped ramp-up); 1 for ``rampup == 0``."""
    if rampup <= 0:
        return 1.0
    t = min(1.0, max(0.0, float(progress)) / float(rampup))
    return float(np.exp(-5.0 * (1.0 - t) ** 2))


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


def class_balanced_top(proba: np.ndarray, share: float) -> np.ndarray:
    """True for the ``ceil(share * n_k)`` most probable rows among the ``n_k`` rows
    predicted as class ``k``, for every class ``k`` (ties: the earlier row first)."""
    p = np.asarray(proba)
    top, conf = p.argmax(axis=1), p.max(axis=1)
    keep = np.zeros(len(p), dtype=bool)
    for k in np.unique(top):
        rows = np.flatnonzero(top == k)
        order = rows[np.argsort(-conf[rows], kind="stable")]
        keep[order[: int(np.ceil(share * len(rows)))]] = True
    return keep


def pseudo_label_mask(
    proba: np.ndarray,
    *,
    confidence: float,
    share: float | None = None,
    uncertainty: np.ndarray | None = None,
    max_uncertainty: float | None = None,
    stable: np.ndarray | None = None,
) -> np.ndarray:
    """Rows whose pseudo-label is kept: ``max proba >= confidence`` and, when given,
    among the class-balanced top ``share`` (:func:`class_balanced_top`),
    ``uncertainty <= max_uncertainty`` and ``stable``. Without the last two this is the
    confidence-only filter of the ``pseudo_label`` baseline (a superset)."""
    keep = np.asarray(proba).max(axis=1) >= confidence
    if share is not None:
        keep &= class_balanced_top(proba, share)
    if max_uncertainty is not None:
        if uncertainty is None:
            raise ValueError("max_uncertainty needs the uncertainty of each row")
        keep &= np.asarray(uncertainty) <= max_uncertainty
    if stable is not None:
        keep &= np.asarray(stable, dtype=bool)
    return keep
