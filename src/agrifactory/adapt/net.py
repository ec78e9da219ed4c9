"""A small 1-D TempCNN (Pelletier et al. 2019) that also returns the features of each
layer, for aligning several layers with MMD.

``n_blocks`` blocks of Conv1d (``hidden`` filters, ``kernel_size``) - BatchNorm - ReLU -
Dropout along time, then Flatten - Linear(``dense``) - BatchNorm - ReLU - Dropout and
the output layer. The input is standardised inside the network with the source mean and
standard deviation of each channel (buffers ``in_mean`` and ``in_std``), so the model
takes raw series ``(n, channels, time)``.

:meth:`TempCNN.mc_proba` gives MC-dropout probabilities cheaply: the blocks and the
dense layer run once in evaluation mode, and only the dropout before the output layer is
sampled in each pass (last-layer MC dropout), so many passes over a large target pool
cost little more than one.

:func:`with_domain_bn` gives a copy whose BatchNorm statistics are those of one domain
(AdaBN, Li et al. 2016): the target is then predicted with the target's own statistics.
"""

from __future__ import annotations

import copy

import numpy as np
import torch
from torch import nn


class TempCNN(nn.Module):
    """TempCNN; ``forward`` gives logits, :meth:`forward_features` logits and features."""

    def __init__(
        self,
        mean: np.ndarray,
        std: np.ndarray,
        n_times: int,
        n_classes: int,
        *,
        hidden: int = 32,
        n_blocks: int = 3,
        kernel_size: int = 5,
        dense: int = 64,
        dropout: float = 0.2,
    ) -> None:
        super().__init__()
        c = len(mean)
        self.register_buffer("in_mean", torch.as_tensor(mean, dtype=torch.float32)[None, :, None])
        self.register_buffer("in_std", torch.as_tensor(std, dtype=torch.float32)[None, :, None])
        blocks = []
        for i in range(n_blocks):
            blocks.append(
                nn.Sequential(
                    nn.Conv1d(
                        c if i == 0 else hidden,
                        hidden,
                        kernel_size,
                        padding=kernel_size // 2,
                        bias=False,
                    ),
                    nn.BatchNorm1d(hidden),
                    nn.ReLU(),
                    nn.Dropout(dropout),
                )
            )
        self.blocks = nn.ModuleList(blocks)
        self.dense = nn.Sequential(
            nn.Flatten(),
            nn.Linear(hidden * n_times, dense, bias=False),
            nn.BatchNorm1d(dense),
            nn.ReLU(),
            nn.Dropout(dropout),
        )
        self.out = nn.Linear(dense, n_classes)

    def forward_features(self, x: torch.Tensor) -> tuple[torch.Tensor, list[torch.Tensor]]:
        """Logits and the features of every block (averaged over time) and of the
        penultimate dense layer (last in the list)."""
        h = (x - self.in_mean) / self.in_std
        feats = []
        for block in self.blocks:
            h = block(h)
            feats.append(h.mean(dim=-1))
        d = self.dense(h)
        feats.append(d)
        return self.out(d), feats

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.forward_features(x)[0]

    def mc_proba(self, x: torch.Tensor, passes: int, batch: int = 4096) -> torch.Tensor:
        """Softmax probabilities ``(passes, n, k)`` of ``passes`` forward passes with the
        last dropout active and everything else in evaluation mode; no gradient."""
        was_training = self.training
        self.eval()
        try:
            with torch.no_grad():
                parts = [self._mc_part(x[s : s + batch], passes) for s in range(0, len(x), batch)]
        finally:
            self.train(was_training)
        return torch.cat(parts, dim=1)

    def _mc_part(self, x: torch.Tensor, passes: int) -> torch.Tensor:
        h = (x - self.in_mean) / self.in_std
        for block in self.blocks:
            h = block(h)
        d = self.dense[:-1](h)  # up to the ReLU; the last module is the dropout
        p = self.dense[-1].p
        return torch.stack(
            [
                torch.softmax(self.out(nn.functional.dropout(d, p, training=True)), dim=1)
                for _ in range(max(1, int(passes)))
            ]
        )


def channel_stats(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Mean and standard deviation (1 where 0) of each channel of ``x (n, c, t)``."""
    mean = x.mean(axis=(0, 2))
    std = x.std(axis=(0, 2))
    return mean, np.where(std > 0, std, 1.0)


def with_domain_bn(net: nn.Module, x: torch.Tensor, batch: int = 4096) -> nn.Module:
    """A copy of ``net`` (in evaluation mode) whose BatchNorm running mean and variance
    are the statistics of ``x`` (a cumulative average over near-equal batches of at most
    ``batch`` rows), every other parameter unchanged; dropout is off while they are
    measured. With fewer than 2 rows there are no statistics: the copy keeps ``net``'s."""
    out = copy.deepcopy(net).eval()
    if len(x) < 2:
        return out
    norms = [m for m in out.modules() if isinstance(m, nn.modules.batchnorm._BatchNorm)]
    momenta = [m.momentum for m in norms]
    for m in norms:
        m.reset_running_stats()
        m.momentum = None  # cumulative average
        m.train()
    with torch.no_grad():
        for part in torch.tensor_split(x, -(-len(x) // batch)):
            out(part)
    for m, momentum in zip(norms, momenta, strict=True):
        m.momentum = momentum
        m.eval()
    return out
