"""Real local services for tests: a STAC API on PostgreSQL + pgstac, and nginx serving
COGs (`agrifactory.testing.stac_services`). Nothing here is imported by the factory."""
