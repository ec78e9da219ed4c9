"""Training of a TempCNN on labelled source series and unlabelled target series.

``fit(method, Xs, ys, Xt, classes=..., settings=..., seed=...)`` for the methods of
:data:`METHODS`; target labels never enter (there is no argument for them).

* Every method but ``source_only`` augments the student's inputs (source and target)
  with :func:`agrifactory.classify.augment.augment_batch` (time shift, time scaling,
  magnitude warping): ``augment`` is today's method, and every adaptation method is
  measured on top of it, so its gain over ``augment`` is the adaptation's own.
* Target terms start after ``warmup_epochs`` source-only epochs; from then on each step
  feeds one batch of source and one of target through the student together (BatchNorm
  sees both domains).
* ``dann``: domain classifier on gradient-reversed penultimate features, reversal
  weight ramped as Ganin et al. (2015) over the post-warm-up progress.
* ``mmd``: MK-MMD on the penultimate features; ``ghca*``: the weighted sum over every
  block's pooled features and the penultimate ones (``mmd_layer_weights``).
* ``pseudo_label`` and ``ghca*`` (but ``ghca_no_pseudo``): an EMA teacher labels the
  whole target pool once per epoch (:mod:`.teacher`); the student gets cross-entropy on
  the kept pseudo-labels of its target batch (FixMatch style: summed over kept rows,
  divided by the batch size). ``pseudo_label`` and ``ghca_no_filters`` keep by
  confidence only; ``ghca`` also by certainty and stability. With ``class_balanced``
  (default) every one of them keeps, per predicted class, at most the most confident
  ``pseudo_share`` of the rows (CBST), the share growing linearly over the epochs after
  the warm-up. These methods predict with the teacher, the others with the student.
* The teacher's first pseudo-labels come ``pseudo_delay`` epochs after the warm-up.
* ``adabn``: ``augment`` predicting the target with its pool's BatchNorm statistics
  (AdaBN, Li et al. 2016), the baseline of GHCA's own ``target_bn``.
* ``ghca*`` and ``adabn`` with ``target_bn`` (default): the teacher pseudo-labels the pool, and the
  final model predicts, with BatchNorm statistics of the target pool (AdaBN); with
  ``domain_batches`` training also normalises each domain's part of a batch by its own
  statistics (domain-specific BatchNorm).
* ``rampup``: the MMD, pseudo-label and contrastive weights rise from 0 over that share
  of the post-warm-up training.
* ``ghca*`` (but ``ghca_no_contrastive``): :func:`.losses.contrastive_loss` on the
  penultimate features of the source batch and the kept target rows. Its positives are
  cross-domain, so without pseudo-labels (``ghca_no_pseudo``) it has none and is off.
"""

from __future__ import annotations

import copy
import logging
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
import torch
from torch import nn

from agrifactory.adapt.align import estimate_shift, shift_series
from agrifactory.adapt.losses import contrastive_loss, dann_lambda, grad_reverse, hierarchical_mmd
from agrifactory.adapt.net import TempCNN, channel_stats, with_domain_bn
from agrifactory.adapt.settings import AdaptSettings
from agrifactory.adapt.teacher import (
    LabelHistory,
    ema_decay_at,
    ema_update,
    predictive_stats,
    pseudo_label_mask,
    ramp_weight,
)
from agrifactory.classify.augment import augment_batch
from agrifactory.classify.cnn import set_threads, softmax_in_batches
from agrifactory.errors import ConfigError, DataError

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Recipe:
    """Which terms a method uses."""

    augment: bool = True
    dann: bool = False
    mmd_layers: str = ""  # "", "last" or "all"
    pseudo: bool = False
    filters: bool = False
    contrastive: bool = False
    target_bn: bool = False
    shift: bool = False  # temporal pre-alignment (agrifactory.adapt.align)

    @property
    def uses_target(self) -> bool:
        return self.dann or bool(self.mmd_layers) or self.pseudo


_GHCA = Recipe(
    mmd_layers="all", pseudo=True, filters=True, contrastive=True, target_bn=True, shift=True
)

#: Method name -> recipe.
METHODS: dict[str, Recipe] = {
    "source_only": Recipe(augment=False),
    "augment": Recipe(),
    "adabn": Recipe(target_bn=True),
    "dann": Recipe(dann=True),
    "mmd": Recipe(mmd_layers="last"),
    "pseudo_label": Recipe(pseudo=True),
    "ghca": _GHCA,
    "ghca_no_mmd": replace(_GHCA, mmd_layers=""),
    "ghca_no_pseudo": replace(_GHCA, pseudo=False, filters=False, contrastive=False),
    "ghca_no_contrastive": replace(_GHCA, contrastive=False),
    "ghca_no_filters": replace(_GHCA, filters=False),
    "ghca_no_shift": replace(_GHCA, shift=False),
}


@dataclass
class AdaptedModel:
    """A trained network and the class codes of its outputs."""

    net: nn.Module
    classes: np.ndarray
    method: str
    shape: tuple[int, int]  # (channels, time) of the series it takes
    history: list[dict[str, float]] = field(default_factory=list)
    shift: float = 0.0  # steps every series is moved before the network (target domain)

    def predict_proba(self, X: np.ndarray) -> np.ndarray:
        """Class probabilities ``(n, n_classes)`` (float64, rows sum to 1), in ``classes``
        order, of target-domain series (moved by ``shift`` first)."""
        x = check_series("X", X)
        if x.shape[1:] != self.shape:
            raise DataError(f"X has series of shape {x.shape[1:]}, the model takes {self.shape}")
        return softmax_in_batches(self.net.eval(), shift_series(x, self.shift))

    def predict(self, X: np.ndarray) -> np.ndarray:
        """Class codes of the most probable class."""
        return self.classes[np.argmax(self.predict_proba(X), axis=1)]


def check_series(name: str, X: np.ndarray) -> np.ndarray:
    """``X`` as float32 ``(n, channels, time)``; NaN or infinity -> :class:`DataError`."""
    x = np.asarray(X, dtype=np.float32)
    x = x if x.flags.writeable else x.copy()  # torch.from_numpy wants a writable array
    if x.ndim != 3:
        raise DataError(f"{name} must have shape (n, channels, time), got {x.shape}")
    bad = ~np.isfinite(x)
    if bad.any():
        rows = int(bad.any(axis=(1, 2)).sum())
        raise DataError(f"{name} holds NaN or infinite values in {rows} series; fill or drop them")
    return x


def check_inputs(
    Xs: np.ndarray, ys: np.ndarray, Xt: np.ndarray, classes: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Checked ``(Xs, class index of ys, Xt)``; see :func:`fit` for what is refused."""
    xs, xt = check_series("Xs (source)", Xs), check_series("Xt (target)", Xt)
    if len(xt) == 0:
        raise DataError("the target domain (Xt) has no unlabelled pixels; nothing to adapt to")
    if xs.shape[1:] != xt.shape[1:]:
        raise DataError(f"source series {xs.shape[1:]} and target series {xt.shape[1:]} differ")
    y = np.asarray(ys)
    if y.shape != (len(xs),):
        raise DataError(f"{len(xs)} source series but ys has shape {y.shape}")
    extra = np.setdiff1d(y, classes)
    if extra.size:
        raise DataError(f"source labels {extra.tolist()} are not among classes {classes.tolist()}")
    missing = np.setdiff1d(classes, y)
    if missing.size:
        raise DataError(
            f"class {', '.join(map(str, missing.tolist()))} has no source sample; "
            "add samples or drop the class"
        )
    return xs, np.searchsorted(classes, y), xt


class _Trainer:
    """State of one fit: student, teacher, domain head, optimiser, pseudo-labels."""

    def __init__(self, recipe: Recipe, xs, y, xt, n_classes: int, s: AdaptSettings, seed: int):
        torch.manual_seed(seed)
        self.rng = np.random.default_rng(seed)
        self.r, self.s = recipe, s
        self.xs, self.xt = xs, xt
        self.y = torch.as_tensor(y, dtype=torch.long)
        mean, std = channel_stats(xs)
        self.net = TempCNN(
            mean,
            std,
            xs.shape[-1],
            n_classes,
            hidden=s.hidden,
            n_blocks=s.n_blocks,
            kernel_size=s.kernel_size,
            dense=s.dense,
            dropout=s.dropout,
        )
        self.teacher = copy.deepcopy(self.net) if recipe.pseudo else None
        self.n_updates = 0
        self.head = (
            nn.Sequential(nn.Linear(s.dense, s.dann_hidden), nn.ReLU(), nn.Linear(s.dann_hidden, 1))
            if recipe.dann
            else None
        )
        params = list(self.net.parameters()) + (list(self.head.parameters()) if self.head else [])
        self.steps = max(1, int(np.ceil(len(xs) / s.batch_size)))
        self.opt = torch.optim.AdamW(params, lr=s.learning_rate, weight_decay=s.weight_decay)
        self.sched = torch.optim.lr_scheduler.OneCycleLR(
            self.opt, max_lr=s.learning_rate, total_steps=s.epochs * self.steps
        )
        self.labels = np.zeros(len(xt), dtype=np.int64)
        self.kept = np.zeros(len(xt), dtype=bool)
        self.past = LabelHistory(len(xt), s.stability_window)
        weights = {"": (), "last": (0.0,) * s.n_blocks + (1.0,), "all": s.mmd_layer_weights}
        self.layer_weights = weights[recipe.mmd_layers]

    def on_target(self, net: nn.Module) -> nn.Module:
        """``net`` as it predicts the target: with the pool's BatchNorm statistics where
        the method uses them (AdaBN), else itself."""
        if self.r.target_bn and self.s.target_bn:
            return with_domain_bn(net, torch.from_numpy(self.xt))
        return net

    def refresh(self, progress: float) -> None:
        """The teacher's pseudo-labels of the whole target pool, filtered; ``progress``
        in [0, 1] over the post-warm-up epochs sets the class-balanced share."""
        s = self.s
        passes = self.on_target(self.teacher).mc_proba(torch.from_numpy(self.xt), s.mc_passes)
        proba, unc = predictive_stats(passes.numpy())
        self.labels = proba.argmax(axis=1)
        self.past.update(self.labels)
        first, last = s.pseudo_share
        share = first + (last - first) * progress if s.class_balanced else None
        if self.r.filters:
            self.kept = pseudo_label_mask(
                proba,
                confidence=s.confidence,
                share=share,
                uncertainty=unc,
                max_uncertainty=s.max_uncertainty,
                stable=self.past.stable(),
            )
        else:
            self.kept = pseudo_label_mask(proba, confidence=s.confidence, share=share)

    def _augment(self, x: np.ndarray) -> torch.Tensor:
        s = self.s
        if self.r.augment:
            x = augment_batch(
                x,
                self.rng,
                shift=s.augment_shift,
                scale=s.augment_scale,
                magnitude=s.augment_magnitude,
                p=s.augment_p,
            )
        return torch.from_numpy(np.ascontiguousarray(x, dtype=np.float32))

    def _target_terms(self, feats, logits_t, idx_s, idx_t, progress: float) -> dict[str, Any]:
        s, n = self.s, len(idx_s)
        ramp = ramp_weight(progress, s.rampup)
        terms: dict[str, Any] = {}
        if self.layer_weights:
            fs, ft = [f[:n] for f in feats], [f[n:] for f in feats]
            terms["mmd"] = (
                ramp
                * s.mmd_weight
                * hierarchical_mmd(fs, ft, self.layer_weights, s.mmd_multipliers)
            )
        if self.head is not None:
            lam = dann_lambda(progress, s.dann_gamma)
            d = self.head(grad_reverse(feats[-1], lam)).squeeze(1)
            dom = torch.cat([torch.zeros(n), torch.ones(len(idx_t))])
            terms["domain"] = s.dann_weight * nn.functional.binary_cross_entropy_with_logits(d, dom)
        if self.r.pseudo:
            kept = torch.from_numpy(self.kept[idx_t])
            pl = torch.from_numpy(self.labels[idx_t])
            ce = nn.functional.cross_entropy(logits_t, pl, reduction="none")
            terms["pseudo"] = ramp * s.pseudo_weight * (ce * kept).sum() / len(idx_t)
            if self.r.contrastive:
                f = torch.cat([feats[-1][:n], feats[-1][n:][kept]])
                lab = torch.cat([self.y[idx_s], pl[kept]])
                dom = torch.cat([torch.zeros(n), torch.ones(int(kept.sum()))])
                terms["contrastive"] = (
                    ramp * s.contrastive_weight * contrastive_loss(f, lab, dom, s.temperature)
                )
        return terms

    def _forward(self, x: torch.Tensor, n: int) -> tuple[torch.Tensor, list[torch.Tensor]]:
        """Logits and features of a batch whose first ``n`` rows are source; with
        domain-specific BatchNorm each domain is normalised by its own batch statistics."""
        if not (self.r.target_bn and self.s.target_bn and self.s.domain_batches) or n == len(x):
            return self.net.forward_features(x)
        (ls, fs), (lt, ft) = self.net.forward_features(x[:n]), self.net.forward_features(x[n:])
        return torch.cat([ls, lt]), [torch.cat(pair) for pair in zip(fs, ft, strict=True)]

    def step(self, idx_s: np.ndarray, active: bool, progress: float) -> dict[str, float]:
        """One optimiser step; returns the value of each loss term."""
        use_target = active and self.r.uses_target
        idx_t = (
            self.rng.choice(len(self.xt), size=min(len(idx_s), len(self.xt)), replace=False)
            if use_target
            else np.zeros(0, dtype=np.int64)
        )
        x = self._augment(np.concatenate([self.xs[idx_s], self.xt[idx_t]]))
        n = len(idx_s)
        logits, feats = self._forward(x, n)
        terms = {"ce": nn.functional.cross_entropy(logits[:n], self.y[idx_s])}
        if use_target:
            terms |= self._target_terms(feats, logits[n:], idx_s, idx_t, progress)
        loss = sum(terms.values())
        self.opt.zero_grad()
        loss.backward()
        self.opt.step()
        self.sched.step()
        if self.teacher is not None:
            ema_update(self.teacher, self.net, ema_decay_at(self.n_updates, self.s.ema_decay))
            self.n_updates += 1
        return {k: float(v.detach()) for k, v in terms.items()}

    def epoch(self, epoch: int) -> dict[str, float]:
        """One pass over the source; returns the epoch's mean loss terms."""
        s = self.s
        active = epoch >= s.warmup_epochs
        start = s.warmup_epochs + s.pseudo_delay
        if epoch >= start and self.teacher is not None:
            self.refresh(min(1.0, (epoch - start) / max(1, s.epochs - start - 1)))
        order = self.rng.permutation(len(self.xs))
        sums: dict[str, float] = {}
        count = 0
        for k in range(self.steps):
            idx = order[k * s.batch_size : (k + 1) * s.batch_size]
            if len(idx) < 2:  # BatchNorm needs two samples
                continue
            progress = (epoch - s.warmup_epochs + k / self.steps) / (s.epochs - s.warmup_epochs)
            for name, v in self.step(idx, active, max(0.0, progress)).items():
                sums[name] = sums.get(name, 0.0) + v
            count += 1
        row = {"epoch": float(epoch + 1), **{k: v / max(count, 1) for k, v in sums.items()}}
        if self.teacher is not None:
            row["n_kept"] = float(self.kept.sum()) if active else 0.0
        return row


def fit(
    method: str,
    Xs: np.ndarray,
    ys: np.ndarray,
    Xt: np.ndarray,
    *,
    classes: np.ndarray | list[int],
    settings: AdaptSettings | None = None,
    seed: int = 0,
) -> AdaptedModel:
    """Train ``method`` on source ``Xs (n_s, c, t)`` with class codes ``ys`` and
    unlabelled target ``Xt (n_t, c, t)``; deterministic for a seed on CPU.

    Raises
    ------
    ConfigError
        An unknown method.
    DataError
        NaN or infinity in ``Xs`` or ``Xt``, a target without rows, a source label not
        in ``classes`` or a class of ``classes`` without a source sample.
    """
    if method not in METHODS:
        raise ConfigError(f"unknown adaptation method {method!r}; expected one of {list(METHODS)}")
    s = settings or AdaptSettings()
    cls = np.unique(np.asarray(classes, dtype=np.int64))
    xs, y, xt = check_inputs(Xs, ys, Xt, cls)
    set_threads(s.num_threads)
    shift = 0.0
    if METHODS[method].shift and s.max_shift > 0:
        shift, _ = estimate_shift(xs, xt, max_shift=s.max_shift, step=s.shift_step,
                                  multipliers=s.mmd_multipliers, seed=seed)  # fmt: skip
        xt = shift_series(xt, shift)
    trainer = _Trainer(METHODS[method], xs, y, xt, len(cls), s, seed)
    trainer.net.train()
    history = [trainer.epoch(e) for e in range(s.epochs)]
    last = history[-1]
    log.info(
        "adapt %s: %d source, %d target series; last epoch %s",
        method,
        len(xs),
        len(xt),
        {k: round(v, 4) for k, v in last.items()},
    )
    final = trainer.on_target(trainer.teacher if trainer.teacher is not None else trainer.net)
    return AdaptedModel(final.eval(), cls, method, tuple(xs.shape[1:]), history, shift)
