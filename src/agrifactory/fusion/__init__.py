"""ESTARFM fusion of Landsat and MODIS: one algorithm, NumPy and CuPy back ends."""
