"""Catalog: books, categories, covers, ISBNs and the full-text search; browsing for shoppers
and editing for staff."""
