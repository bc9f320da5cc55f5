"""campaigns: see docs/ARCHITECTURE.md."""
