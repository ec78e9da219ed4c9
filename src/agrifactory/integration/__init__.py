"""Multi-source cropland integration and block-level semantic correctness (CropLayer)."""
