"""mail: see docs/ARCHITECTURE.md."""
