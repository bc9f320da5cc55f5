"""Views; filled in by the feature work."""
