"""feedback: see docs/ARCHITECTURE.md."""
