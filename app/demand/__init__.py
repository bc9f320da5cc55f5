"""demand: see docs/ARCHITECTURE.md."""
