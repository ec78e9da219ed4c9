"""The demo world: deterministic inputs in real file formats, plus its truth."""
