"""Every setting of the adaptation training (:func:`agrifactory.adapt.train.fit`): the
network, the losses' weights, the pseudo-label filter and the EMA teacher. Imports no
heavy library, so the stage contract and the config schema can use it."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field, model_validator

from agrifactory.settings import Settings

Positive = Annotated[float, Field(gt=0)]
Weight = Annotated[float, Field(ge=0)]
Share = Annotated[float, Field(gt=0, le=1)]


class AdaptSettings(Settings):
    """The network, losses, pseudo-label filter and EMA teacher of the adaptation
    methods. The defaults of the pseudo-labels (``pseudo_delay``, ``class_balanced``,
    ``pseudo_share``) and ``target_bn`` were chosen on the demo's two 2021 cross-region
    cases only (46-date NDVI series); the rest are tuned on nothing."""

    epochs: Annotated[int, Field(ge=1)] = 30
    """Training epochs (each one pass over the source samples)."""

    batch_size: Annotated[int, Field(ge=2)] = 32
    """Source (and target) series per step."""

    learning_rate: Positive = 3e-3
    """AdamW learning rate."""

    weight_decay: Weight = 1e-4
    """AdamW weight decay."""

    warmup_epochs: Annotated[int, Field(ge=0)] = 8
    """Source-only epochs before the target terms start."""

    hidden: Annotated[int, Field(ge=1)] = 32
    """Filters per convolution block."""

    n_blocks: Annotated[int, Field(ge=1)] = 3
    """Convolution blocks (Conv1d, BatchNorm, ReLU, dropout)."""

    kernel_size: Annotated[int, Field(ge=1)] = 5
    """Convolution kernel length (time steps)."""

    dense: Annotated[int, Field(ge=1)] = 64
    """Units of the penultimate dense layer."""

    dropout: Annotated[float, Field(ge=0, lt=1)] = 0.2
    """Dropout rate (also of the teacher's MC-dropout passes)."""

    augment_shift: Weight = 2.0
    """Time shift of the augmentation (time steps; every method but source_only)."""

    augment_scale: Weight = 0.15
    """Relative time scaling of the augmentation."""

    augment_magnitude: Weight = 0.1
    """Magnitude-warping s.d. of the augmentation."""

    augment_p: Annotated[float, Field(ge=0, le=1)] = 0.5
    """Share of series augmented per transform."""

    mmd_weight: Weight = 1.0
    """Weight of the MK-MMD term (mmd, ghca)."""

    mmd_layer_weights: Annotated[list[Weight], Field(min_length=2)] = [0.25, 0.25, 0.25, 1.0]
    """Weight of each convolution block's pooled features and (last) of the penultimate
    dense features in GHCA's hierarchical MMD: n_blocks + 1 weights."""

    mmd_multipliers: Annotated[list[Positive], Field(min_length=1)] = [0.25, 0.5, 1.0, 2.0, 4.0]
    """Gaussian kernel bandwidths of MK-MMD, as multiples of the batch's median squared
    distance."""

    dann_weight: Weight = 1.0
    """Weight of DANN's domain loss."""

    dann_gamma: Positive = 10.0
    """Steepness of DANN's gradient-reversal ramp (Ganin et al. 2015)."""

    dann_hidden: Annotated[int, Field(ge=1)] = 32
    """Units of DANN's domain classifier."""

    pseudo_weight: Weight = 1.0
    """Weight of the cross-entropy on kept target pseudo-labels."""

    contrastive_weight: Weight = 0.1
    """Weight of the cross-domain class contrastive loss."""

    temperature: Positive = 0.1
    """Temperature of the contrastive loss."""

    confidence: Annotated[float, Field(gt=0, lt=1)] = 0.7
    """A pseudo-label is kept only when the teacher's probability is at least this."""

    max_uncertainty: Positive = 0.06
    """... and the s.d. of that probability over the MC-dropout passes at most this
    (certainty; GHCA only) ..."""

    stability_window: Annotated[int, Field(ge=1)] = 3
    """... and the label was the same at the last this many refreshes (one per epoch;
    stability; GHCA only)."""

    pseudo_delay: Annotated[int, Field(ge=0)] = 12
    """Epochs after the warm-up before the teacher's first pseudo-labels (until then the
    pseudo-label and contrastive terms are off), so that they come from a teacher
    that the other target terms have already adapted."""

    class_balanced: bool = True
    """Class-balanced pseudo-labels (CBST, Zou et al. 2018; every method with
    pseudo-labels): of the target rows predicted as a class only the most confident
    share (``pseudo_share``) are candidates, so easy classes do not crowd out the rest."""

    pseudo_share: Annotated[list[Share], Field(min_length=2, max_length=2)] = [0.2, 0.6]
    """That share per class at the first and at the last refresh of the pseudo-labels
    (linear in between; used when ``class_balanced``)."""

    target_bn: bool = True
    """GHCA and its ablations pseudo-label, and they and ``adabn`` predict, the target
    with BatchNorm statistics measured on the target pool (AdaBN, Li et al. 2016), not
    with the statistics of the training batches."""

    domain_batches: bool = False
    """With ``target_bn``, training also normalises the source and the target part of
    each batch by their own batch statistics (domain-specific BatchNorm, Chang et al.
    2019) instead of the mixed batch's."""

    rampup: Annotated[float, Field(ge=0, le=1)] = 0.0
    """Share of the post-warm-up training over which the weights of the MMD, pseudo-label
    and contrastive terms rise from 0 (``exp(-5 (1 - t)^2)``, Laine & Aila 2017); 0 for
    full weight at once."""

    mc_passes: Annotated[int, Field(ge=2)] = 8
    """MC-dropout passes of the teacher per refresh."""

    ema_decay: Annotated[float, Field(ge=0, lt=1)] = 0.98
    """Decay of the teacher's exponential moving average of the student's weights."""

    max_shift: Annotated[float, Field(ge=0)] = 3.0
    """GHCA's temporal pre-alignment: the largest shift (in time steps, 8 days for the
    HANTS series) tried between the target's series and the source's; 0 - off."""

    shift_step: Annotated[float, Field(gt=0)] = 0.25
    """Spacing of the shifts tried (time steps)."""

    num_threads: Annotated[int, Field(ge=1)] | None = 1
    """Torch threads (null leaves torch's setting)."""

    @model_validator(mode="after")
    def _consistent(self) -> AdaptSettings:
        if len(self.mmd_layer_weights) != self.n_blocks + 1:
            raise ValueError(
                f"mmd_layer_weights needs n_blocks + 1 = {self.n_blocks + 1} weights "
                f"(one per block and one for the dense layer), got {self.mmd_layer_weights}"
            )
        if self.warmup_epochs + self.pseudo_delay >= self.epochs:
            raise ValueError(  # pseudo_delay 0: the warm-up alone must leave epochs
                f"warmup_epochs + pseudo_delay ({self.warmup_epochs + self.pseudo_delay}) "
                f"must be below epochs ({self.epochs})"
            )
        return self
