"""Readers and writers for every file format the factory touches."""
