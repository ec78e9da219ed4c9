"""Ingest: Landsat and MODIS scenes warped onto one tile's 30 m grid, as date stacks.

:mod:`agrifactory.ingest.rules` is the stage's contract (settings, output names,
the rule's run function); :mod:`agrifactory.ingest.tile` ingests one tile-year,
:mod:`agrifactory.ingest.scenes` reads and masks the scenes of one date, and
:mod:`agrifactory.ingest.qa` keeps the tile's QA records (``ingest/qa.csv``).
"""
