"""GET /language/<locale>?next=/path: remember the visitor's language in a cookie (and on a
member's account), then go back to the page they were on: the Referer when it is this site (it
keeps the query string), else `next` (the page's path), else the home page.

Plain links rather than a CSRF-protected form: the anonymous home page is cached whole and
shared by visitors, so it cannot carry a per-session CSRF token, and the worst a forged link
can do is change the language a page is shown in.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import abort, current_app, redirect, request, url_for
from flask_babel import get_locale
from flask_login import current_user

from app.core.security import safe_next_url
from app.core.unit_of_work import commit_now
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


@bp.after_app_request
def _vary_by_language(response):
    """A page's language comes from the Accept-Language header or the `lang` cookie: say so,
    so no shared cache between us and the reader hands one reader's language to another."""
    if response.mimetype == "text/html":
        response.vary.add("Accept-Language")
        response.vary.add("Cookie")
    return response


def adopt_page_language(sender, user, **_extra) -> None:
    """On log-in or joining, a member with no saved language keeps the one they are reading in
    when it is not the default (chosen with the switch, or their browser's): mail sent later by
    staff or a worker then reaches them in it. The log-in view commits."""
    if getattr(user, "locale", "") is not None:
        return
    locale = str(get_locale())
    if locale != current_app.config["BABEL_DEFAULT_LOCALE"]:
        user.locale = locale

