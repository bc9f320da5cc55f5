"""crm: see docs/ARCHITECTURE.md."""
