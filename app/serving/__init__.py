"""serving: see docs/ARCHITECTURE.md."""
