"""Known degradations of clear images, with a strength in [0, 1].

Used to train the learned scorer without hand labels (the label is the strength)
and to test that every score falls as a degradation grows. Each function draws
its random numbers in a fixed order whatever the strength, so the same generator
state with growing strength gives nested clouds, the same noise pattern scaled up,
and so on. Strength 0 returns the image unchanged.

Images are ``(rows, cols)`` or ``(channels, rows, cols)`` float arrays without NaN;
a :class:`DegradationProfile` holds the per-channel values (what a thick cloud or
haze looks like in each channel, how strong noise and stripes get).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import ndimage

KINDS = ("cloud", "haze", "blur", "stripes", "noise")


@dataclass(frozen=True)
class DegradationProfile:
    """Per-channel appearance of each degradation at strength 1."""

    cloud_value: tuple[float, ...]
    haze_value: tuple[float, ...]
    noise_sd: tuple[float, ...]
    stripe_amplitude: tuple[float, ...]
    #: Haze opacity at strength 1; blur sigma (pixels) at strength 1.
    max_haze: float = 0.8
    max_blur_sigma: float = 3.0
    #: Width of the soft cloud edge, as a share of the coverage range.
    cloud_edge: float = 0.1

    @property
    def channels(self) -> int:
        """Number of channels the profile describes."""
        return len(self.cloud_value)


#: NDVI: clouds have NDVI near 0, haze pulls NDVI towards 0.
NDVI_PROFILE = DegradationProfile(
    cloud_value=(0.02,), haze_value=(0.05,), noise_sd=(0.12,), stripe_amplitude=(0.25,)
)
#: Surface reflectance of (blue, red, nir): grey bright clouds; haze brightens blue most.
REFLECTANCE_PROFILE = DegradationProfile(
    cloud_value=(0.55, 0.55, 0.58),
    haze_value=(0.3, 0.15, 0.12),
    noise_sd=(0.03, 0.03, 0.05),
    stripe_amplitude=(0.04, 0.04, 0.08),
)


def _as_channels(image: np.ndarray, profile: DegradationProfile) -> tuple[np.ndarray, bool]:
    x = np.asarray(image, dtype=np.float64)
    flat = x.ndim == 2
    if flat:
        x = x[np.newaxis]
    if x.ndim != 3 or x.shape[0] != profile.channels:
        raise ValueError(
            f"image of shape {np.shape(image)} does not fit a {profile.channels}-channel profile"
        )
    return x, flat


def _per_channel(values: tuple[float, ...]) -> np.ndarray:
    return np.asarray(values, dtype=np.float64)[:, np.newaxis, np.newaxis]


def _uniform_field(shape: tuple[int, int], rng: np.random.Generator, scale: float) -> np.ndarray:
    """A smooth random field with values spread uniformly over [0, 1] (by rank)."""
    noise = ndimage.gaussian_filter(rng.standard_normal(shape), sigma=scale, mode="wrap")
    ranks = np.argsort(np.argsort(noise, axis=None), axis=None).reshape(shape)
    return (ranks + 0.5) / ranks.size


def cloud_opacity(
    shape: tuple[int, int], strength: float, rng: np.random.Generator, edge: float = 0.1
) -> np.ndarray:
    """Cloud opacity in [0, 1]: a smooth blob field covering about ``strength`` of the image."""
    u = _uniform_field(shape, rng, scale=max(shape) / 6.0)
    return np.clip((strength * (1.0 + edge) - u) / edge, 0.0, 1.0)


def degrade(
    image: np.ndarray,
    kind: str,
    strength: float,
    rng: np.random.Generator,
    profile: DegradationProfile = NDVI_PROFILE,
) -> np.ndarray:
    """Apply one degradation of the given strength (0 = none, 1 = useless image).

    - ``cloud``: blend towards ``cloud_value`` under smooth blobs covering ~``strength``;
    - ``haze``: blend towards ``haze_value`` with opacity ``strength * max_haze`` (70-100 %
      of it, varying smoothly);
    - ``blur``: Gaussian blur with sigma ``strength * max_blur_sigma`` pixels;
    - ``stripes``: every k-th row or column (k in 2..5) offset by up to
      ``strength * stripe_amplitude``;
    - ``noise``: white Gaussian noise of sd ``strength * noise_sd``.
    """
    if kind not in KINDS:
        raise ValueError(f"unknown degradation {kind!r}; known: {KINDS}")
    if not 0.0 <= strength <= 1.0:
        raise ValueError(f"strength {strength} must lie in [0, 1]")
    x, flat = _as_channels(image, profile)
    shape = x.shape[1:]
    if kind == "cloud":
        alpha = cloud_opacity(shape, strength, rng, profile.cloud_edge)
        out = (1.0 - alpha) * x + alpha * _per_channel(profile.cloud_value)
    elif kind == "haze":
        v = _uniform_field(shape, rng, scale=max(shape) / 4.0)
        t = strength * profile.max_haze * (0.7 + 0.3 * v)
        out = (1.0 - t) * x + t * _per_channel(profile.haze_value)
    elif kind == "blur":
        sigma = strength * profile.max_blur_sigma
        out = (
            x.copy()
            if sigma == 0
            else ndimage.gaussian_filter(x, sigma=(0, sigma, sigma), mode="reflect")
        )
    elif kind == "stripes":
        axis = int(rng.integers(2))
        period = int(rng.integers(2, 6))
        phase = int(rng.integers(period))
        n_lines = shape[axis]
        offsets = rng.choice([-1.0, 1.0], size=n_lines) * rng.uniform(0.5, 1.0, size=n_lines)
        offsets[(np.arange(n_lines) - phase) % period != 0] = 0.0
        line = offsets[:, np.newaxis] if axis == 0 else offsets[np.newaxis, :]
        out = x + strength * _per_channel(profile.stripe_amplitude) * line
    else:  # noise
        z = rng.standard_normal(x.shape)
        out = x + strength * _per_channel(profile.noise_sd) * z
    out = out.astype(np.float32)
    return out[0] if flat else out


def random_degradation(
    image: np.ndarray,
    rng: np.random.Generator,
    profile: DegradationProfile = NDVI_PROFILE,
    p_clean: float = 0.3,
) -> tuple[np.ndarray, str, float]:
    """A training example: the image degraded by a random kind and strength.

    With probability ``p_clean`` the image is returned unchanged (kind ``"none"``,
    strength 0); otherwise the kind is uniform over :data:`KINDS` and the strength
    uniform over [0, 1].
    """
    if rng.random() < p_clean:
        return np.asarray(image, dtype=np.float32).copy(), "none", 0.0
    kind = KINDS[int(rng.integers(len(KINDS)))]
    strength = float(rng.uniform(0.0, 1.0))
    return degrade(image, kind, strength, rng, profile), kind, strength
