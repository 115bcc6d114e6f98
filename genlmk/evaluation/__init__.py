"""Evaluation: keypoint and identity backends, pairing real with generated footage, motion scores."""
