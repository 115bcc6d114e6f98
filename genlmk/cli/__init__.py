"""Command-line interface (``genlmk ...``)."""
