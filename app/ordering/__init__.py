"""ordering: see docs/ARCHITECTURE.md."""
