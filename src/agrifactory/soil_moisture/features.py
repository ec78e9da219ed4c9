"""Feature tables of the downscaler: drivers, day of year and location.

Features come in three groups so a tile-year never needs a full
``(days x pixels, features)`` matrix: static ones per place
(:data:`STATIC_FEATURES`), dynamic ones per place and day
(:data:`DYNAMIC_FEATURES`) and the day of year (:data:`PER_DAY_FEATURES`).
:data:`FEATURES` is the model's column order.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np

from agrifactory.soil_moisture.drivers import DriverValues
from agrifactory.soil_moisture.trees import DYNAMIC, PER_DAY, STATIC

STATIC_FEATURES = ("dem", "slope", "sand", "clay", "lon", "lat")
DYNAMIC_FEATURES = (
    "ndvi",
    "lst_day",
    "lst_night",
    "lst_diff",
    "albedo",
    "precip",
    "api_fast",
    "api_slow",
)
PER_DAY_FEATURES = ("doy",)
FEATURES = STATIC_FEATURES + DYNAMIC_FEATURES + PER_DAY_FEATURES


@dataclass
class FeatureBlock:
    """Features of ``n`` places over ``T`` days, kept in their three groups (float32)."""

    static: np.ndarray  # (n, len(STATIC_FEATURES))
    dynamic: np.ndarray  # (T, n, len(DYNAMIC_FEATURES))
    per_day: np.ndarray  # (T, len(PER_DAY_FEATURES))
    days: list[dt.date]

    @property
    def n_places(self) -> int:
        return self.static.shape[0]

    @property
    def n_days(self) -> int:
        return self.per_day.shape[0]

    def take(self, index: np.ndarray) -> FeatureBlock:
        """The block restricted to some places."""
        return FeatureBlock(self.static[index], self.dynamic[:, index], self.per_day, self.days)

    def matrix(self, day_slice: slice | None = None) -> np.ndarray:
        """The full ``(days x places, FEATURES)`` float32 matrix, day-major (for training)."""
        dyn = self.dynamic if day_slice is None else self.dynamic[day_slice]
        pd_ = self.per_day if day_slice is None else self.per_day[day_slice]
        t, n = dyn.shape[:2]
        out = np.empty((t, n, len(FEATURES)), dtype=np.float32)
        ns = len(STATIC_FEATURES)
        nd = len(DYNAMIC_FEATURES)
        out[:, :, :ns] = self.static[None]
        out[:, :, ns : ns + nd] = dyn
        out[:, :, ns + nd :] = pd_[:, None, :]
        return out.reshape(t * n, len(FEATURES))

    def channel(self, name: str) -> np.ndarray:
        """One feature as ``(T, n)`` (static and per-day ones broadcast)."""
        if name in STATIC_FEATURES:
            v = self.static[:, STATIC_FEATURES.index(name)]
            return np.broadcast_to(v[None], (self.n_days, self.n_places))
        if name in DYNAMIC_FEATURES:
            return self.dynamic[:, :, DYNAMIC_FEATURES.index(name)]
        v = self.per_day[:, PER_DAY_FEATURES.index(name)]
        return np.broadcast_to(v[:, None], (self.n_days, self.n_places))


def layout() -> list[tuple[int, int]]:
    """(source, column) of every feature in :data:`FEATURES` order, for the compiled predictor."""
    out = [(STATIC, i) for i in range(len(STATIC_FEATURES))]
    out += [(DYNAMIC, i) for i in range(len(DYNAMIC_FEATURES))]
    out += [(PER_DAY, i) for i in range(len(PER_DAY_FEATURES))]
    return out


def feature_block(values: DriverValues, lon: np.ndarray, lat: np.ndarray) -> FeatureBlock:
    """Assemble the features of places (flattened) from driver values and their positions."""
    lon = np.asarray(lon, np.float32).ravel()
    lat = np.asarray(lat, np.float32).ravel()
    n = lon.size
    t = len(values.days)
    static = np.empty((n, len(STATIC_FEATURES)), dtype=np.float32)
    for i, name in enumerate(STATIC_FEATURES):
        if name == "lon":
            static[:, i] = lon
        elif name == "lat":
            static[:, i] = lat
        else:
            static[:, i] = values.static[name].reshape(n)
    dynamic = np.empty((t, n, len(DYNAMIC_FEATURES)), dtype=np.float32)
    for i, name in enumerate(DYNAMIC_FEATURES):
        dynamic[:, :, i] = values.dynamic[name].reshape(t, n)
    doy = np.array([d.timetuple().tm_yday for d in values.days], dtype=np.float32)
    return FeatureBlock(static, dynamic, doy[:, None], list(values.days))
