"""genlmk: marker-free landmark detectors learned from unpaired footage, and the tools to
run, export and evaluate them and the motion-transfer models that consume them."""

__version__ = "0.1.0"
