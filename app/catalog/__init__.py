"""Catalog: books, categories, covers, ISBNs and the full-text search; browsing for shoppers
and editing for staff."""

from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    """Wire this feature into the app: its pages and its admin pages (routes on the admin
    blueprint, so this runs before the admin blueprint is registered)."""
    from app.catalog.languages import language_name
    from app.catalog.web import (  # noqa: F401  (admin routes)
        admin_books,
        admin_categories,
        admin_info_pages,
        bp,
    )

    app.register_blueprint(bp)
    app.add_template_filter(language_name)
