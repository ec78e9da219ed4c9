"""An adapted network as one of the factory's classifiers, so ``classify`` maps with it.

Rule ``adapt`` trains the network (:func:`agrifactory.adapt.train.fit`) and saves it
with :class:`AdaptedClassifier`; ``classify`` loads it like any model directory
(kind ``adapted_cnn``) and feeds it the bands it names, channel-major.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, ClassVar

import numpy as np

from agrifactory.adapt.settings import AdaptSettings
from agrifactory.classify.base import Classifier
from agrifactory.errors import ConfigError


class AdaptedClassifier(Classifier):
    """A TempCNN trained by an adaptation method (params: ``method``, ``n_channels``
    and the network's size from :class:`AdaptSettings`); the target domain's series
    are moved by the method's temporal shift (state ``shift``) before the network. NaN
    steps are filled along time (:func:`agrifactory.adapt.align.fill_time_gaps`, a
    series without any value taking the source's channel mean), as in training."""

    kind = "adapted_cnn"
    allow_nan = True
    weights_file = "weights.pt"
    default_params: ClassVar[dict[str, Any]] = {
        "method": "ghca",
        "n_channels": 1,
        "hidden": 32,
        "n_blocks": 3,
        "kernel_size": 5,
        "dense": 64,
        "dropout": 0.2,
    }

    @classmethod
    def from_adapted(
        cls,
        model: Any,
        feature_names: Sequence[str],
        class_names: Mapping[int, str],
        settings: AdaptSettings,
        seed: int,
    ) -> AdaptedClassifier:
        """Wrap an :class:`agrifactory.adapt.train.AdaptedModel` whose input bands are
        ``feature_names`` (channel-major: all dates of channel 0, then channel 1, ...)."""
        c, t = model.shape
        if c * t != len(feature_names):
            raise ConfigError(f"{len(feature_names)} feature names for a ({c}, {t}) series")
        out = cls(
            method=model.method,
            n_channels=c,
            **{k: getattr(settings, k) for k in ("hidden", "n_blocks", "kernel_size", "dense")},
            dropout=settings.dropout,
        )
        out.classes_ = np.asarray(model.classes, dtype=np.int64)
        out.class_names_ = {int(k): str(class_names[k]) for k in out.classes_ if k in class_names}
        out.feature_names_ = [str(n) for n in feature_names]
        out.seed_ = int(seed)
        out.net_ = model.net.eval()
        out.shift_ = float(model.shift)
        return out

    def _fit(self, X: np.ndarray, y_index: np.ndarray, seed: int) -> None:
        raise ConfigError(
            "an adapted model is trained by rule adapt (agrifactory.adapt.train.fit), "
            "which needs the target's unlabelled series; fit() cannot make one"
        )

    def _series(self, X: np.ndarray) -> np.ndarray:
        from agrifactory.adapt.align import fill_time_gaps

        c = int(self.params["n_channels"])
        x = X.reshape(len(X), c, X.shape[1] // c).astype(np.float32)
        return fill_time_gaps(x, self.net_.in_mean.reshape(-1).cpu().numpy())

    def _proba(self, X: np.ndarray) -> np.ndarray:
        from agrifactory.adapt.align import shift_series
        from agrifactory.classify.cnn import softmax_in_batches

        series = shift_series(self._series(X), self.shift_)
        return softmax_in_batches(self.net_.eval(), series)

    def _state(self) -> dict[str, Any]:
        return {"shift": self.shift_}

    def _load_state(self, state: dict[str, Any]) -> None:
        self.shift_ = float(state.get("shift", 0.0))

    def _save_weights(self, path: Path) -> None:
        import torch

        torch.save(self.net_.state_dict(), path)

    def _load_weights(self, path: Path) -> None:
        import torch

        from agrifactory.adapt.net import TempCNN

        c = int(self.params["n_channels"])
        p = self.params
        net = TempCNN(
            np.zeros(c),
            np.ones(c),
            len(self.feature_names_) // c,
            len(self.classes_),
            **{k: p[k] for k in ("hidden", "n_blocks", "kernel_size", "dense", "dropout")},
        )
        net.load_state_dict(torch.load(path, map_location="cpu", weights_only=True))
        self.net_ = net.eval()
