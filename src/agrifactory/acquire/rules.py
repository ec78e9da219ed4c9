"""The acquire stage's contract: provider profiles, settings, output names and the ``acquire`` rule.

A provider profile says where a STAC API is and how its items are laid out: the
collection of each sensor, the asset key of each band the ingest reads, how asset
URLs are signed, and for MODIS which product the collection holds. Three profiles
are built in (:data:`BUILTIN_PROVIDERS`); ``acquire.providers`` adds a user's own or
overrides one. With ``inputs.source: stac`` the workflow runs rule ``acquire`` once
per year over the run's tiles and the ingest reads each asset's window where it lies.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import Field, model_validator

from agrifactory.io.files import in_folder
from agrifactory.io.scaling import ProductScaling
from agrifactory.settings import Settings

#: Files of rule ``acquire``, in ``results/acquire/<year>``.
ACQUIRE_OUTPUTS: dict[str, str] = {
    "landsat": "landsat_inventory.csv",
    "modis": "modis_inventory.csv",
}

#: The assets each MODIS product needs (canonical names, see :class:`ModisCollection`).
MODIS_PRODUCT_ASSETS: dict[str, tuple[str, ...]] = {
    "ndvi": ("ndvi",),
    "mod09q1": ("red", "nir", "qc"),
    "mod13q1": ("ndvi", "reliability"),
}

#: Landsat bands the ingest reads (canonical names; spectral ones map to SR_B*/ST_B* per sensor).
LANDSAT_ASSETS: tuple[str, ...] = (
    "blue",
    "green",
    "red",
    "nir",
    "swir1",
    "swir2",
    "thermal",
    "QA_PIXEL",
    "QA_RADSAT",
    "SR_ATMOS_OPACITY",
    "SR_QA_AEROSOL",
    "MTL",
)


def acquire_outputs(folder: str) -> dict[str, str]:
    """Rule ``acquire``'s outputs in ``folder`` (e.g. ``results/acquire/2021``)."""
    return in_folder(folder, ACQUIRE_OUTPUTS)


AssetKey = str | list[str]


class LandsatCollection(Settings):
    """Where a provider keeps Landsat Collection 2 Level-2 scenes."""

    collection: str = "landsat-c2-l2"
    """STAC collection id."""

    assets: dict[str, AssetKey] = {
        "blue": "blue",
        "green": "green",
        "red": "red",
        "nir": "nir08",
        "swir1": "swir16",
        "swir2": "swir22",
        "thermal": ["lwir11", "lwir"],
        "QA_PIXEL": "qa_pixel",
        "QA_RADSAT": "qa_radsat",
        "SR_ATMOS_OPACITY": "atmos_opacity",
        "SR_QA_AEROSOL": "qa_aerosol",
        "MTL": ["mtl.json", "mtl.xml", "mtl.txt"],
    }
    """Asset key of each band the ingest reads, and of the metadata file (MTL) whose
    scale and offset it applies (a list: the first key an item has; Landsat 8/9 call
    the thermal band lwir11, Landsat 5/7 lwir). red and nir are required."""

    platforms: list[str] = ["landsat-8", "landsat-9"]
    """Values of the items' 'platform' property that are kept (e.g. landsat-5, landsat-7)."""

    max_cloud_cover: Annotated[float, Field(ge=0, le=100)] = 80.0
    """Items whose 'eo:cloud_cover' is above this (percent) are left out."""

    reflectance_scale_offset: tuple[float, float] = (2.75e-5, -0.2)
    """Surface reflectance = DN x scale + offset, for a scene without a metadata file
    (MTL) asset; a scene's MTL gives its own. Collection 2 Level-2's values."""

    temperature_scale_offset: tuple[float, float] = (0.00341802, 149.0)
    """Surface temperature (K) = DN x scale + offset, as above."""

    @model_validator(mode="after")
    def _red_and_nir(self) -> LandsatCollection:
        unknown = sorted(set(self.assets) - set(LANDSAT_ASSETS))
        if unknown:
            raise ValueError(f"unknown band(s) {unknown}; known: {list(LANDSAT_ASSETS)}")
        missing = [b for b in ("red", "nir") if b not in self.assets]
        if missing:
            raise ValueError(f"assets must name the {missing} band(s): the ingest needs both")
        return self


class ModisCollection(Settings):
    """Where a provider keeps MODIS composites, and which product they are."""

    collection: str = "modis-09Q1-061"
    """STAC collection id."""

    product: Literal["ndvi", "mod09q1", "mod13q1"] = "mod09q1"
    """'mod09q1': 8-day red/NIR reflectance and the 250 m QC (NDVI computed with QC
    masking); 'mod13q1': 16-day NDVI and pixel reliability; 'ndvi': one NDVI asset
    (x 1e-4 unless the file has a scale_factor tag), as the demo's composites."""

    assets: dict[str, str] = {
        "red": "sur_refl_b01",
        "nir": "sur_refl_b02",
        "qc": "sur_refl_qc_250m",
    }
    """Asset key of each file the product needs (mod09q1: red, nir, qc; mod13q1: ndvi,
    reliability; ndvi: ndvi)."""

    scale: Annotated[float, Field(gt=0)] = 1e-4
    """Reflectance or NDVI = DN x scale (MOD09Q1 and MOD13Q1: 1e-4); an NDVI file's own
    scale_factor tag wins."""

    @model_validator(mode="after")
    def _assets_of_product(self) -> ModisCollection:
        need = MODIS_PRODUCT_ASSETS[self.product]
        if sorted(self.assets) != sorted(need):
            raise ValueError(
                f"product {self.product!r} needs the assets {list(need)}, got {sorted(self.assets)}"
            )
        return self


class ProviderProfile(Settings):
    """A STAC API and the layout of its items."""

    api_url: str
    """The STAC API's root URL."""

    signing: Literal["none", "planetary-computer"] = "none"
    """How asset URLs are signed before each read ('planetary-computer': the
    planetary-computer package adds a short-lived token, so the inventory keeps
    unsigned URLs that never expire)."""

    landsat: LandsatCollection | None = LandsatCollection()
    """The Landsat collection (null: the provider has none)."""

    modis: ModisCollection | None = ModisCollection()
    """The MODIS collection (null: the provider has none)."""


#: Profiles every config can name in ``acquire.provider``.
BUILTIN_PROVIDERS: dict[str, ProviderProfile] = {
    # https://planetarycomputer.microsoft.com/dataset/landsat-c2-l2, .../modis-09Q1-061
    "planetary-computer": ProviderProfile(
        api_url="https://planetarycomputer.microsoft.com/api/stac/v1",
        signing="planetary-computer",
    ),
    "planetary-computer-mod13q1": ProviderProfile(
        api_url="https://planetarycomputer.microsoft.com/api/stac/v1",
        signing="planetary-computer",
        modis=ModisCollection(
            collection="modis-13Q1-061",
            product="mod13q1",
            assets={"ndvi": "250m_16_days_NDVI", "reliability": "250m_16_days_pixel_reliability"},
        ),
    ),
    # Earth Search keeps Landsat in USGS's requester-pays bucket and has no MODIS.
    "earth-search": ProviderProfile(
        api_url="https://earth-search.aws.element84.com/v1",
        modis=None,
    ),
}


class AcquireSettings(Settings):
    """STAC acquisition (used when inputs.source is 'stac'; docs/real-data.md)."""

    provider: str = "planetary-computer"
    """Name of the provider profile: a built-in one (planetary-computer,
    planetary-computer-mod13q1, earth-search) or one of 'providers'."""

    providers: dict[str, ProviderProfile] = {}
    """Your own provider profiles by name (a local or institutional STAC API)."""

    page_size: Annotated[int, Field(ge=1, le=1000)] = 250
    """Items asked for per page of a search."""

    retries: Annotated[int, Field(ge=0, le=10)] = 3
    """How often a failed search or asset read is tried again (with doubling waits)."""

    retry_wait_s: Annotated[float, Field(ge=0)] = 1.0
    """Wait before the first retry, in seconds (doubled after each)."""

    timeout_s: Annotated[int, Field(ge=1)] = 60
    """Seconds an HTTP request may take."""

    cache_dir: str | None = None
    """A folder where every asset the ingest reads is first downloaded whole
    (resumable, checked by SHA-256 before each reuse), for repeated runs over the same
    scenes. null: read each tile's window where the data lie."""

    @model_validator(mode="after")
    def _provider_known(self) -> AcquireSettings:
        known = {**BUILTIN_PROVIDERS, **self.providers}
        if self.provider not in known:
            raise ValueError(
                f"provider {self.provider!r} is not a profile; known: {sorted(known)} "
                "(add your own under acquire.providers)"
            )
        return self

    def profile(self) -> ProviderProfile:
        """The profile named by :attr:`provider`."""
        return {**BUILTIN_PROVIDERS, **self.providers}[self.provider]


def product_scaling(settings: AcquireSettings) -> ProductScaling:
    """The scale and offset the ingest applies where a file gives none, from the profile."""
    profile = settings.profile()
    defaults = ProductScaling()
    landsat, modis = profile.landsat, profile.modis
    return ProductScaling(
        reflectance=landsat.reflectance_scale_offset if landsat else defaults.reflectance,
        temperature=landsat.temperature_scale_offset if landsat else defaults.temperature,
        modis=modis.scale if modis else defaults.modis,
    )


def acquire(job: Any) -> None:
    """Rule ``acquire``: one year's STAC searches over the run's tiles, written as inventories.

    ``job.params`` holds the config sections ``acquire`` and ``ingest`` (its
    ``margin_days``), the year and the run's area (``bbox``: lon/lat bounds of the tiles).
    """
    from agrifactory.acquire.search import acquire_year
    from agrifactory.logs import setup_logging

    setup_logging(job.log[0])
    acquire_year(
        AcquireSettings.build(job.params.acquire, "acquire"),
        list(job.params.bbox),
        int(job.wildcards.year),
        int(job.params.margin_days),
        dict(job.output.items()),
    )
