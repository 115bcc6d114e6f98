"""Neural networks (plain torch modules, one file per family; no Lightning here)."""
