"""membership: see docs/ARCHITECTURE.md."""
