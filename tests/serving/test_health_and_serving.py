"""Production serving: /healthz, fingerprinted static files, compression, JSON logs, proxies."""

from __future__ import annotations

import gzip
import json
import logging

import pytest

from app.serving.observability import JsonFormatter

# --------------------------------------------------------------------------- /healthz


def test_healthz_answers_200_with_json_when_the_database_answers(client):
    response = client.get("/healthz")

    assert response.status_code == 200
    assert response.is_json
    assert response.json["status"] == "ok" and response.json["database"] == "ok"
    assert response.headers["Cache-Control"] == "no-store"


@pytest.fixture
def unreachable_database(app_config, tmp_path):
    # A file inside a folder that does not exist: SQLite cannot open it.
    app_config["SQLALCHEMY_DATABASE_URI"] = f"sqlite:///{tmp_path}/missing/folder/shop.db"


def test_healthz_answers_503_when_the_database_cannot_be_reached(unreachable_database, client):
    response = client.get("/healthz")

    assert response.status_code == 503
    assert response.json == {**response.json, "status": "unavailable",
                             "database": "unreachable"}


@pytest.mark.parametrize("app_config", [{"RATELIMIT_ENABLED": True}])
def test_healthz_needs_no_login_and_is_never_rate_limited(client):
    statuses = {client.get("/healthz").status_code for _ in range(40)}

    assert statuses == {200}


# --------------------------------------------------------------------------- static files


def test_pages_link_the_stylesheet_with_its_content_hash(client):
    page = client.get("/").get_data(as_text=True)

    assert '/static/css/site.css?v=' in page
    assert '/static/img/logo.svg?v=' in page


def _stylesheet_url(client) -> str:
    page = client.get("/").get_data(as_text=True)
    return page.split('<link rel="stylesheet" href="')[1].split('"')[0].replace("&amp;", "&")


def test_a_fingerprinted_static_file_may_be_cached_for_a_year(client):
    with client.get(_stylesheet_url(client)) as response:
        assert response.status_code == 200
    cache = response.cache_control
    assert cache.public and cache.immutable
    assert cache.max_age == 365 * 24 * 3600


def test_a_static_file_with_a_stale_or_no_hash_is_not_cached_for_long(client):
    for url in ("/static/css/site.css", "/static/css/site.css?v=000000000000"):
        with client.get(url) as response:
            assert response.status_code == 200
            assert not response.cache_control.immutable
            assert (response.cache_control.max_age or 0) < 3600


def test_the_fingerprint_changes_when_the_file_changes(app, tmp_path):
    static = tmp_path / "static"
    (static / "css").mkdir(parents=True)
    sheet = static / "css" / "site.css"
    sheet.write_text("body { color: black }")
    app.static_folder = str(static)
    from app.serving.assets import static_url

    with app.test_request_context():
        before = static_url("css/site.css")
        sheet.write_text("body { color: navy }")
        import os

        os.utime(sheet, ns=(1, 1))  # a new modification time, as an edit gives
        after = static_url("css/site.css")

    assert before != after and after.startswith("/static/css/site.css?v=")


# --------------------------------------------------------------------------- compression


def test_pages_are_gzipped_for_a_client_that_accepts_gzip(client):
    plain = client.get("/")
    response = client.get("/", headers={"Accept-Encoding": "gzip"})

    assert response.headers["Content-Encoding"] == "gzip"
    assert "Accept-Encoding" in response.headers["Vary"]
    assert gzip.decompress(response.data) == plain.data


def test_brotli_is_preferred_when_the_client_accepts_it(client):
    with client.get("/static/css/site.css", headers={"Accept-Encoding": "gzip, br"}) as response:
        assert response.headers["Content-Encoding"] == "br"


def test_a_client_without_accept_encoding_gets_the_page_uncompressed(client):
    response = client.get("/")

    assert "Content-Encoding" not in response.headers
    assert b"<!doctype html>" in response.data


# --------------------------------------------------------------------------- logs and proxies


def test_a_json_log_line_holds_level_logger_message_and_extra_fields(app):
    record = logging.LogRecord("app.orders", logging.WARNING, __file__, 1,
                               "order %s failed", ("B-1",), None)
    record.order_id = 42

    with app.test_request_context("/checkout", method="POST"):
        line = json.loads(JsonFormatter().format(record))

    assert line["level"] == "WARNING" and line["logger"] == "app.orders"
    assert line["message"] == "order B-1 failed"
    assert line["order_id"] == 42
    assert (line["method"], line["path"]) == ("POST", "/checkout")


@pytest.mark.parametrize("app_config", [{"LOG_FORMAT": "json"}])
def test_with_log_format_json_the_app_logs_json_lines_to_stdout(app, capsys):
    root = logging.getLogger()
    try:
        app.logger.warning("stock low", extra={"book_id": 7})
        out = capsys.readouterr().out.strip().splitlines()
    finally:
        for handler in [h for h in root.handlers if getattr(h, "_bookstation_json", False)]:
            root.removeHandler(handler)

    line = json.loads(out[-1])
    assert line["message"] == "stock low" and line["book_id"] == 7


@pytest.mark.parametrize("app_config", [{"TRUST_PROXY_HOPS": 1}])
def test_behind_one_trusted_proxy_the_client_address_and_scheme_come_from_it(app):
    seen = {}

    @app.get("/_probe")
    def probe():
        from flask import request

        seen.update(addr=request.remote_addr, scheme=request.scheme)
        return "ok"

    app.test_client().get("/_probe", headers={"X-Forwarded-For": "203.0.113.9",
                                              "X-Forwarded-Proto": "https"})

    assert seen == {"addr": "203.0.113.9", "scheme": "https"}


def test_production_config_has_secure_cookies_and_no_debug(monkeypatch):
    monkeypatch.setenv("SECRET_KEY", "s3cret")
    monkeypatch.delenv("SESSION_COOKIE_SECURE", raising=False)
    import importlib

    import config

    prod = importlib.reload(config).ProductionConfig
    try:
        assert prod.SESSION_COOKIE_SECURE and prod.REMEMBER_COOKIE_SECURE
        assert prod.DEBUG is False and prod.LOG_FORMAT == "json"
    finally:
        monkeypatch.undo()
        importlib.reload(config)


def test_production_refuses_to_start_without_a_secret_key(monkeypatch):
    monkeypatch.setenv("BOOKSTATION_ENV", "production")
    monkeypatch.delenv("SECRET_KEY", raising=False)
    from config import config_from_env

    with pytest.raises(RuntimeError, match="SECRET_KEY"):
        config_from_env()
