"""Security headers on every response, and `Cache-Control: private, no-store` on private pages.

Every answer of the shop carries the same fixed headers: a strict Content-Security-Policy (no
inline script or style anywhere: the templates use neither, and the covers are served by the
shop itself), framing refused (`frame-ancestors 'none'` and X-Frame-Options for old
browsers), nosniff, a Referrer-Policy and a Permissions-Policy turning off the browser
features the shop never uses. They are added by WSGI middleware outside everything else, so
the pages answered by app.serving.front_door before Flask, static files, error pages and even
Werkzeug's own last-resort 500 carry them too. A view that sets one of them itself keeps its
own (the password reset page's `Referrer-Policy: no-referrer`).

Why not Flask-Talisman: its last release (1.1.0) is from August 2023, it works in Flask's
request hooks, so it cannot reach the front door, and it builds the header strings again on
every response; here they are fixed strings computed once, and the middleware costs one
closure and a scan of the response's headers per request.

Pages that show a member's or the staff's own data (the account, cart and checkout, orders,
demand and feedback pages, and all of /admin) say `Cache-Control: private, no-store`: no
shared cache keeps them and the browser does not store them on disk or show them again from
its history after a log-out.

Config: CONTENT_SECURITY_POLICY and PERMISSIONS_POLICY replace the defaults below (a payment
gateway reached by a form's redirect would need its origin in `form-action`); SECURITY_HEADERS
= False turns the lot off.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

from flask import Flask, Response, request

CONTENT_SECURITY_POLICY = "; ".join([
    "default-src 'self'",
    "script-src 'self'",
    "style-src 'self'",
    "img-src 'self'",  # the covers are the shop's own SVGs (shop.cover)
    "font-src 'self'",
    "connect-src 'self'",
    "object-src 'none'",
    "base-uri 'self'",
    "form-action 'self'",
    "frame-ancestors 'none'",
])
PERMISSIONS_POLICY = ", ".join(f"{feature}=()" for feature in (
    "accelerometer", "camera", "geolocation", "gyroscope", "magnetometer", "microphone",
    "payment", "usb"))

PRIVATE_CACHE_CONTROL = "private, no-store"
# The blueprints whose every response is private, and their URL prefixes (for a 404 under
# them, which matched no view and so has no blueprint).
PRIVATE_BLUEPRINTS = frozenset({"account", "admin", "cart", "demand", "feedback"})
PRIVATE_PREFIXES = ("/account/", "/admin", "/cart", "/checkout", "/orders",
                    "/demand/", "/feedback/")


def fixed_headers(config) -> list[tuple[str, str]]:
    """The headers every response carries, from the app's config."""
    return [
        ("Content-Security-Policy",
         config.get("CONTENT_SECURITY_POLICY") or CONTENT_SECURITY_POLICY),
        ("X-Frame-Options", "DENY"),
        ("X-Content-Type-Options", "nosniff"),
        ("Referrer-Policy", "strict-origin-when-cross-origin"),
        ("Permissions-Policy", config.get("PERMISSIONS_POLICY") or PERMISSIONS_POLICY),
        ("Cross-Origin-Opener-Policy", "same-origin"),
    ]


class SecurityHeaders:
    """WSGI middleware: `headers` added to every response that does not set them itself."""

    def __init__(self, wsgi_app: Callable, headers: list[tuple[str, str]]) -> None:
        self.wsgi_app = wsgi_app
        self.headers = headers
        self.names = frozenset(name.lower() for name, _ in headers)

    def __call__(self, environ: dict, start_response: Callable) -> Iterable[bytes]:
        added, names = self.headers, self.names

        def start(status: str, response_headers: list, exc_info=None):
            own = [name for name, _ in response_headers if name.lower() in names]
            if own:
                own_names = {name.lower() for name in own}
                response_headers.extend(h for h in added if h[0].lower() not in own_names)
            else:
                response_headers.extend(added)
            return start_response(status, response_headers, exc_info)

        return self.wsgi_app(environ, start)


def _private_pages(response: Response) -> Response:
    if request.blueprint in PRIVATE_BLUEPRINTS or (
            request.blueprint is None and request.path.startswith(PRIVATE_PREFIXES)):
        response.headers["Cache-Control"] = PRIVATE_CACHE_CONTROL
    return response


def install(app: Flask) -> None:
    """Call last in create_app: the middleware must wrap the front door too."""
    if not app.config.get("SECURITY_HEADERS", True):
        return
    app.after_request(_private_pages)
    app.wsgi_app = SecurityHeaders(app.wsgi_app, fixed_headers(app.config))  # type: ignore[method-assign]
