"""Scene quality: per-scene scores, a per-pixel quality mask, a learned scorer, base pairs.

The stage scores every Landsat scene of a tile and year and chooses the
Landsat-MODIS base pairs the fusion trusts. Its modules:

``rules``
    The stage's contract: :class:`~agrifactory.quality.rules.QualitySettings`
    (config section ``quality``), the rules' output names and their run functions.
``config``
    The tunables (crop calendar, spectral-test thresholds, score exponents, pair
    selection, the learned scorer) as frozen pydantic models, each default written
    once; ``rules.QualitySettings`` builds on them.
``masks``
    The per-pixel quality mask: Collection 2 ``QA_PIXEL`` classes plus the
    spectral tests that catch what the mask missed (bright, cold, HOT haze) and
    radiometric saturation, one bit each.
``texture``
    Image statistics of one scene: sharpness (variance of the Laplacian),
    noise level (wavelet median absolute deviation) and striping.
``scores``
    :class:`~agrifactory.quality.scores.SceneStack`, :func:`~agrifactory.quality.scores.score_stack`
    (the per-scene table and mask stack) and the writers of both.
``degrade``
    Known, seeded degradations (cloud, haze, blur, stripes, noise) with a strength
    in [0, 1], used to train the learned scorer and to test the scores.
``scorer``
    The learned scorer: a small ResNet-style CNN on NDVI patches (PyTorch, CPU),
    its label-free training, save/load, and patch/scene scoring. Importing this
    module imports PyTorch; the others do not.
``pairs``
    The 8-day target dates, the quality-ranked bracketing base-pair selector and
    the nearest-clear-pair baseline, both as one table per tile and year.
``quicklook``
    A PNG strip of scenes with their scores.
``agreement``
    Rank agreement of a score with a reference cloudiness, and the worst disagreements.
``eopatch``
    The real-data check on an eo-learn patch (Sentinel-2 NDVI with a cloud mask).

The score formula, the mask bits and the pair rule are documented in
``docs/quality.md``. Everything runs on the host: CuPy arrays are copied to NumPy
once, at the entry of :func:`~agrifactory.quality.scores.score_stack`.
"""
