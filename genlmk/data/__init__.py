"""Data: image and video I/O, frame sources, datasets and data modules."""
