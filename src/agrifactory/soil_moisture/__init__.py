"""Soil moisture: LightGBM downscaling, CNN bias correction, evaluation."""
