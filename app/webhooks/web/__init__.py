"""The admin's webhook pages (endpoints, their delivery log, replay and test events)."""
