"""Losses as pure functions (thin modules only where weights must be held)."""
