"""grades: see docs/ARCHITECTURE.md."""
