"""Time-series smoothing (HANTS, Savitzky-Golay) and classification features."""
