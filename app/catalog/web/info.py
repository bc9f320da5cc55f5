"""The shop's information pages for readers: /help/shipping-returns, /help/privacy, /help/terms
(app.catalog.info_pages), shared through the page cache like the catalog pages."""

from __future__ import annotations

from flask import abort, render_template

from app.catalog import info_pages
from app.catalog.web import bp
from app.core.errors import NotFound
from app.core.i18n import locale_name
from app.serving import page_cache


@bp.get("/help/<slug>")
def info_page(slug: str):
    if slug not in info_pages.SLUGS:
        abort(404)
    return page_cache.serve(f"help:{slug}", lambda: _info_page(slug))


def _info_page(slug: str):
    try:
        page = info_pages.page_for(slug, locale_name())
    except NotFound:
        abort(404)
    return render_template("shop/info_page.html", page=page,
                           body=info_pages.render_body(page.body))


@bp.app_template_global()
def info_page_links() -> list[tuple[str, object]]:
    """(slug, name) of the information pages, for the footer."""
    return list(info_pages.SLUGS.items())
