"""Rate limits are checked where they are set: the per-request hook goes only when unneeded."""

from flask import Flask
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address

from app.serving.library_internals import limit_only_where_decorated


def _app(limiter: Limiter) -> Flask:
    app = Flask(__name__)
    app.config.update(RATELIMIT_STORAGE_URI="memory://")
    limiter.init_app(app)

    @app.get("/open")
    def open_page():
        return "open"

    @app.post("/guarded")
    @limiter.limit("2 per minute")
    def guarded():
        return "guarded"

    limit_only_where_decorated(app, limiter)
    return app


def test_without_app_wide_limits_a_views_own_limit_still_holds_and_other_pages_are_free():
    client = _app(Limiter(key_func=get_remote_address, default_limits=[])).test_client()

    assert [client.post("/guarded").status_code for _ in range(3)] == [200, 200, 429]
    assert {client.get("/open").status_code for _ in range(5)} == {200}


def test_a_default_limit_keeps_the_per_request_check():
    client = _app(Limiter(key_func=get_remote_address, default_limits=["2 per minute"])
                  ).test_client()

    assert [client.get("/open").status_code for _ in range(3)] == [200, 200, 429]


def test_a_meta_limit_keeps_the_per_request_check():
    """After too many breaches a client is refused everywhere, which only the hook can do."""
    client = _app(Limiter(key_func=get_remote_address, default_limits=[],
                          meta_limits=["1 per minute"])).test_client()

    assert [client.post("/guarded").status_code for _ in range(4)] == [200, 200, 429, 429]
    assert client.get("/open").status_code == 429
