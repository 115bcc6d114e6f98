"""Lightning systems: wire networks, compute losses, log."""
