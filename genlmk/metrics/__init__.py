"""Metrics: landmark accuracy and stability; motion-transfer quality."""
