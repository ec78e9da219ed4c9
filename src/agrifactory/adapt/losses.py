"""Losses of the adaptation methods (PyTorch).

* :func:`mk_mmd` - multi-kernel maximum mean discrepancy (Gretton et al. 2012; Long et
  al. 2015), biased estimator, **mean** over the Gaussian kernels.
* :func:`hierarchical_mmd` - weighted sum of :func:`mk_mmd` over several layers.
* :func:`contrastive_loss` - supervised contrastive loss (Khosla et al. 2020) whose
  positives are same-class samples of the *other* domain (cross-domain class pull).
* :func:`grad_reverse` - the gradient reversal layer of DANN (Ganin & Lempitsky 2015).
"""

from __future__ import annotations

from collections.abc import Sequence

import torch

#: Default bandwidth multipliers of :func:`mk_mmd` (times the median squared distance).
MULTIPLIERS = (0.25, 0.5, 1.0, 2.0, 4.0)


def _pooled(f: torch.Tensor) -> torch.Tensor:
    """``(n, d)`` features; a ``(n, c, t)`` feature map is averaged over time."""
    return f.mean(dim=-1) if f.ndim == 3 else f


def mk_mmd(
    a: torch.Tensor,
    b: torch.Tensor,
    bandwidths: Sequence[float] | None = None,
    multipliers: Sequence[float] = MULTIPLIERS,
) -> torch.Tensor:
    """Multi-kernel MMD^2 between feature batches ``a (n, d)`` and ``b (m, d)``.

    Biased estimator ``mean K(a, a) + mean K(b, b) - 2 mean K(a, b)`` (diagonals
    included) of the **mean** of Gaussian kernels ``exp(-||x - y||^2 / (2 s2))``.
    ``bandwidths`` gives the ``s2`` values directly; otherwise ``s2 = multiplier * m2``
    with ``m2`` the median squared distance over all pairs ``i < j`` of the pooled
    batch, detached from the graph (a constant of the step, not a learnt quantity).
    """
    a, b = _pooled(a), _pooled(b)
    x = torch.cat([a, b])
    d2 = torch.cdist(x, x).pow(2)
    if bandwidths is None:
        iu = torch.triu_indices(len(x), len(x), offset=1)
        m2 = d2.detach()[iu[0], iu[1]].median().clamp_min(1e-12)
        s2 = [float(m) * m2 for m in multipliers]
    else:
        s2 = [torch.as_tensor(float(s), dtype=x.dtype) for s in bandwidths]
    k = torch.stack([torch.exp(-d2 / (2 * s)) for s in s2]).mean(dim=0)
    n = len(a)
    return k[:n, :n].mean() + k[n:, n:].mean() - 2 * k[:n, n:].mean()


def hierarchical_mmd(
    feats_s: Sequence[torch.Tensor],
    feats_t: Sequence[torch.Tensor],
    weights: Sequence[float],
    multipliers: Sequence[float] = MULTIPLIERS,
) -> torch.Tensor:
    """``sum_l weights[l] * mk_mmd(feats_s[l], feats_t[l])``; a layer of weight 0 is skipped.

    Feature maps ``(n, c, t)`` are globally average-pooled over time first.
    """
    if not len(feats_s) == len(feats_t) == len(weights):
        raise ValueError(
            f"{len(feats_s)} source layers, {len(feats_t)} target layers, "
            f"{len(weights)} weights: they must match"
        )
    total = feats_s[0].new_zeros(())
    for fs, ft, w in zip(feats_s, feats_t, weights, strict=True):
        if w != 0:
            total = total + float(w) * mk_mmd(fs, ft, multipliers=multipliers)
    return total


def contrastive_loss(
    f: torch.Tensor, labels: torch.Tensor, domains: torch.Tensor, temperature: float
) -> torch.Tensor:
    """Cross-domain supervised contrastive loss on L2-normalised features ``f (n, d)``.

    With ``s_ij = z_i . z_j / temperature``, the positives of anchor ``i`` are
    ``P(i) = {j : y_j = y_i, domain_j != domain_i}`` and its negatives
    ``N(i) = {j : y_j != y_i}`` (both domains); same-class samples of the anchor's own
    domain are neither. The loss of an anchor is
    ``-1/|P(i)| sum_{p in P(i)} log(exp(s_ip) / sum_{a in P(i) u N(i)} exp(s_ia))``,
    averaged over the anchors with at least one positive. A batch of one domain has no
    positives: the loss is then 0 (still in the graph).
    """
    z = torch.nn.functional.normalize(_pooled(f), dim=1)
    s = z @ z.T / float(temperature)
    same = labels[:, None] == labels[None, :]
    pos = same & (domains[:, None] != domains[None, :])
    considered = pos | ~same
    anchors = pos.any(dim=1)
    if not anchors.any():
        return f.sum() * 0.0
    s = s.masked_fill(~considered, float("-inf"))
    log_prob = s - torch.logsumexp(s, dim=1, keepdim=True)
    per_anchor = -(log_prob.masked_fill(~pos, 0.0).sum(dim=1)) / pos.sum(dim=1).clamp_min(1)
    return per_anchor[anchors].mean()


class _GradReverse(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x: torch.Tensor, lam: float) -> torch.Tensor:  # type: ignore[override]
        ctx.lam = lam
        return x.view_as(x)

    @staticmethod
    def backward(ctx, grad: torch.Tensor) -> tuple[torch.Tensor, None]:  # type: ignore[override]
        return -ctx.lam * grad, None


def grad_reverse(x: torch.Tensor, lam: float = 1.0) -> torch.Tensor:
    """Identity forward; the gradient is multiplied by ``-lam`` backward (DANN)."""
    return _GradReverse.apply(x, float(lam))


def dann_lambda(progress: float, gamma: float = 10.0) -> float:
    """Ganin et al. (2015) ramp ``2 / (1 + exp(-gamma p)) - 1`` for progress ``p`` in [0, 1]."""
    import math

    return 2.0 / (1.0 + math.exp(-gamma * float(progress))) - 1.0
