"""The page envelope every list answers with: items and where they are in the whole."""

from __future__ import annotations


def envelope(pagination, items: list) -> dict:
    """`pagination`: a Flask-SQLAlchemy Pagination or anything with page, per_page, total and
    pages (app.core.paging)."""
    total = pagination.total or 0
    per_page = pagination.per_page
    return {"items": items, "page": pagination.page, "per_page": per_page, "total": total,
            "pages": -(-total // per_page) if total else 0}
