"""GET /language/<locale>?next=/path: remember the visitor's language in a cookie (and on a
member's account), then go back to the page they were on: the Referer when it is this site (it
keeps the query string), else `next` (the page's path), else the home page.

Plain links rather than a CSRF-protected form: the anonymous home page is cached whole and
shared by visitors, so it cannot carry a per-session CSRF token, and the worst a forged link
can do is change the language a page is shown in.
"""

from __future__ import annotations

from urllib.parse import quote_plus, urlsplit

from flask import abort, current_app, redirect, render_template, request, url_for
from flask_login import current_user
from markupsafe import Markup, escape

from app.core.i18n import locale_name
from app.core.security import safe_next_url
from app.core.unit_of_work import commit_now
from app.serving import page_store
from app.serving.language import bp

COOKIE_MAX_AGE = 365 * 24 * 3600
PREFIX = "/language/"


def _same_site_referrer() -> str | None:
    referrer = urlsplit(request.referrer or "")
    if referrer.netloc != request.host or referrer.scheme not in ("http", "https"):
        return None
    path = referrer.path + (f"?{referrer.query}" if referrer.query else "")
    if path.startswith(request.script_root + PREFIX):
        return None  # never bounce back to the switch itself
    return safe_next_url(path)


@bp.get(f"{PREFIX}<locale>")
def switch(locale: str):
    if locale not in current_app.config["LANGUAGES"]:
        abort(404)
    if current_user.is_authenticated and current_user.locale != locale:
        current_user.locale = locale
        commit_now()  # a GET: the request's unit of work would not commit it
    target = _same_site_referrer() or safe_next_url(request.args.get("next")) or url_for(
        "shop.home"
    )
    response = redirect(target)
    response.set_cookie(
        current_app.config.get("LOCALE_COOKIE", "lang"),
        locale,
        max_age=COOKIE_MAX_AGE,
        samesite="Lax",
        secure=request.is_secure,
        httponly=True,
    )
    response.headers["Cache-Control"] = "no-store"
    return response


#: The word the kept switch is rendered with in place of the page's path (nothing a URL encodes).
_NEXT_HOLE = "languageswitchnextpath"
SWITCHES_KEPT = 16


def language_switch() -> Markup:
    """The header's language switch (templates/_language_switch.html) for this page: a link to
    each other language that comes back to this page's path. Every page shows it, so it is
    rendered once per language and script root (app.serving.page_store.kept) and the page's
    path written into its links."""
    key = (locale_name(), request.script_root)
    html = page_store.kept("language_switches", key, lambda: render_template(
        "_language_switch.html", next_path=_NEXT_HOLE), SWITCHES_KEPT)
    return Markup(html.replace(_NEXT_HOLE, escape(query_value(request.path))))


def query_value(text: str) -> str:
    """`text` as url_for writes a query argument's value (werkzeug's query encoding: urlencode
    keeping !$'()*,/:;?@)."""
    return quote_plus(text, safe="!$'()*,/:;?@")


_LANGUAGE_VARY = ("Accept-Language", "Cookie")


@bp.after_app_request
def _vary_by_language(response):
    """A page's language comes from the Accept-Language header or the `lang` cookie: say so,
    so no shared cache between us and the reader hands one reader's language to another.
    Written as one header when the response has no Vary yet (each `response.vary.add` parses
    and writes the header again), else added to what it has."""
    if response.mimetype == "text/html":
        if "Vary" in response.headers:
            response.vary.update(_LANGUAGE_VARY)
        else:
            response.headers["Vary"] = ", ".join(_LANGUAGE_VARY)
    return response


def adopt_page_language(sender, user, **_extra) -> None:
    """On log-in or joining, a member with no saved language keeps the one they are reading in
    when it is not the default (chosen with the switch, or their browser's): mail sent later by
    staff or a worker then reaches them in it. The log-in view commits."""
    if getattr(user, "locale", "") is not None:
        return
    locale = locale_name()
    if locale != current_app.config["BABEL_DEFAULT_LOCALE"]:
        user.locale = locale

