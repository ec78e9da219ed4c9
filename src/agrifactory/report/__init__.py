"""Quicklooks, STAC catalog and summary tables."""
