"""Acquisition: STAC searches that write the inventories the ingest reads (asset URLs, not paths)."""
