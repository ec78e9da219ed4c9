"""Time-series smoothing (HANTS, Savitzky-Golay) and classification features."""

#: Default rows per block of the smooth and features rules (config ``timeseries.block_rows``):
#: 256 matches the COG tiles, so no tile is written twice.
DEFAULT_BLOCK_ROWS = 256
