"""The cache shared by the worker processes of one machine (app.serving.machine_cache), the
shop's cache without Redis: what one process stores every other reads, what one forgets is
gone for all, entries expire, and a full cache makes room instead of failing."""

from __future__ import annotations

import multiprocessing
import subprocess
import sys
import time
from decimal import Decimal
from pathlib import Path

import pytest
import sqlalchemy as sa

from app import create_app
from app.catalog.models import Book
from app.catalog.web.views import forget_catalog
from app.core.extensions import db
from app.membership import sessions
from app.membership.models import Member
from app.serving.machine_cache import MachineCache
from config import TestConfig
from tests.factories import make_book, make_category, make_member
from tests.pages import log_in

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def cache(tmp_path) -> MachineCache:
    return MachineCache(str(tmp_path / "cache"), map_mb=8, key_prefix="test:")


def test_values_round_trip_and_expire(cache):
    cache.set("page", "<html>…</html>", timeout=1)
    cache.set("kept", {"a": (1, Decimal("2.50"))}, timeout=0)  # 0: never expires
    assert cache.get("page") == "<html>…</html>"
    assert cache.get_many("page", "kept", "absent") == ["<html>…</html>",
                                                       {"a": (1, Decimal("2.50"))}, None]
    time.sleep(1.1)
    assert cache.get("page") is None and not cache.has("page")
    assert cache.has("kept")


def test_add_inc_dec_and_delete(cache):
    assert cache.add("once", 1) is True
    assert cache.add("once", 2) is False and cache.get("once") == 1
    assert cache.inc("count") == 1 and cache.inc("count", 5) == 6 and cache.dec("count") == 5
    cache.set("other", "x")
    assert sorted(cache.delete_many("once", "other", "absent")) == ["once", "other"]
    assert cache.get("once") is None and cache.get("count") == 5
    assert cache.clear() and cache.get("count") is None


def test_keys_carry_the_prefix_so_two_prefixes_do_not_meet(tmp_path):
    shop = MachineCache(str(tmp_path / "cache"), key_prefix="shop:")
    other = MachineCache(str(tmp_path / "cache"), key_prefix="other:")
    shop.set("k", "shop's")
    assert other.get("k") is None and shop.get("k") == "shop's"


def test_expired_entries_are_swept_to_make_room_for_new_ones(tmp_path):
    cache = MachineCache(str(tmp_path / "small"), map_mb=1, check_every=1)
    blob = "x" * 20_000
    for n in range(20):  # 40 % of the map
        assert cache.set(f"old{n}", blob, timeout=1)
    time.sleep(1.1)
    for n in range(20):  # as much again: kept only because the expired ones are swept
        assert cache.set(f"new{n}", blob, timeout=60)
    assert all(cache.get(f"new{n}") == blob for n in range(20))
    assert not any(key.startswith("old") for key in cache.keys())


def test_a_cache_filling_up_with_live_entries_drops_them_and_goes_on(tmp_path):
    cache = MachineCache(str(tmp_path / "small"), map_mb=1, check_every=1)
    blob = "x" * 20_000
    results = [cache.set(f"live{n}", blob, timeout=60) for n in range(200)]  # 4 MB in all
    assert all(results)  # room is made before the map is full: no write is lost
    assert cache.get("live199") == blob and cache.get("live0") is None
    assert cache.used() <= 0.5


def _reader_killed_mid_read(cache: MachineCache, ready) -> None:
    with cache.env.begin():  # a read that never ends: the worker is killed here
        ready.set()
        time.sleep(60)


def test_the_reader_slot_of_a_worker_killed_mid_read_is_freed(cache):
    cache.set("page", "x", timeout=60)
    context = multiprocessing.get_context("fork")
    ready = context.Event()
    child = context.Process(target=_reader_killed_mid_read, args=(cache, ready))
    child.start()
    assert ready.wait(30)
    child.kill()  # SIGKILL, as gunicorn does to a worker past its timeout
    child.join(30)
    assert f"{child.pid:>10}" in cache.env.readers()  # its snapshot still held

    cache.make_room()

    assert f"{child.pid:>10}" not in cache.env.readers()


def _child_sets(cache: MachineCache) -> None:
    cache.set("from the child", "hello from a fork", timeout=60)


def test_a_forked_worker_opens_its_own_environment_and_shares_the_data(cache):
    cache.set("from the parent", "before the fork", timeout=60)  # opened in the parent
    context = multiprocessing.get_context("fork")
    child = context.Process(target=_child_sets, args=(cache,))
    child.start()
    child.join(30)
    assert child.exitcode == 0
    assert cache.get("from the child") == "hello from a fork"
    assert cache.set("after", "the parent goes on", timeout=60) and cache.get("after")


def test_a_value_stored_by_another_process_is_read_here(cache):
    code = ("import sys; from app.serving.machine_cache import MachineCache; "
            "MachineCache(sys.argv[1], map_mb=8, key_prefix='test:')"
            ".set('shared', ('another process', 42), timeout=60)")
    subprocess.run([sys.executable, "-c", code, cache.path], cwd=ROOT, check=True,
                   timeout=60)
    assert cache.get("shared") == ("another process", 42)


# --------------------------------------------------------------------------- two workers


def _server(db_path: Path, cache_dir: Path):
    """The app as gunicorn's master builds it before forking its workers (preload)."""
    config = type("ServerConfig", (TestConfig,), {
        "SQLALCHEMY_DATABASE_URI": f"sqlite:///{db_path}",
        "CACHE_TYPE": "app.serving.machine_cache.MachineCache",
        "CACHE_DIR": str(cache_dir), "PAGE_CACHE_SECONDS": 30})
    return create_app(config)


def _in_a_worker(app, job, *args) -> None:
    """Run `job(app, *args)` in a forked child, as a gunicorn worker would."""
    context = multiprocessing.get_context("fork")
    with app.app_context():
        db.engine.dispose()  # the child opens its own connections, as gunicorn.conf.py does
    child = context.Process(target=job, args=(app, *args))
    child.start()
    child.join(60)
    assert child.exitcode == 0


def _visit(app, url: str) -> None:
    assert "12.50" in app.test_client().get(url).get_data(as_text=True)


def _edit_price(app, book_id: int) -> None:
    with app.test_request_context():  # an admin's edit, then what the admin view does
        db.session.get(Book, book_id).price = Decimal("9.75")
        db.session.commit()
        forget_catalog()


def test_an_edit_in_one_worker_is_on_every_worker_s_pages_at_once(app, tmp_path):
    db_path = Path(app.config["SQLALCHEMY_DATABASE_URI"].removeprefix("sqlite:///"))
    with app.app_context():
        book = make_book(title="Shared Shelves", category=make_category(slug="fiction"),
                         price=Decimal("12.50"), stock_on_hand=5)
        db.session.commit()
        book_id, url = book.id, f"/book/{book.id}"
    server = _server(db_path, tmp_path / "cache")

    _in_a_worker(server, _visit, url)  # one worker renders the page
    here = server.test_client()  # this process is another worker
    first = here.get(url)
    assert "12.50" in first.get_data(as_text=True)
    assert first.headers.get("X-Cache") == "hit"  # rendered once for both

    _in_a_worker(server, _edit_price, book_id)  # the edit, in a third worker

    page = here.get(url).get_data(as_text=True)  # at once, here too
    assert "9.75" in page and "12.50" not in page
    with server.app_context():
        db.engine.dispose()


def test_a_server_started_again_does_not_read_the_pages_of_the_one_before(app, tmp_path):
    db_path = Path(app.config["SQLALCHEMY_DATABASE_URI"].removeprefix("sqlite:///"))
    before, after = (_server(db_path, tmp_path / "cache") for _ in range(2))
    with before.app_context():
        from app.core.extensions import cache as flask_cache
        flask_cache.set("page:something", "rendered by the old code", timeout=60)
        assert flask_cache.get("page:something") == "rendered by the old code"
    with after.app_context():
        assert flask_cache.get("page:something") is None
    for server in (before, after):
        with server.app_context():
            db.engine.dispose()


def _log_out_everywhere(app, email: str) -> None:
    with app.test_request_context():  # "log out everywhere", as the sessions page does it
        sessions.end_all(db.session.scalar(sa.select(Member).where(Member.email == email)))
        db.session.commit()


def test_a_session_ended_in_one_worker_ends_the_readers_every_worker_keeps(app, tmp_path):
    """The front door keeps a member's reader for READER_KEEP_SECONDS, per process; a session
    ended in another worker makes it stale at once (the readers generation in the shared
    cache)."""
    db_path = Path(app.config["SQLALCHEMY_DATABASE_URI"].removeprefix("sqlite:///"))
    with app.app_context():
        make_category(slug="fiction")
        make_member(email="reader@example.test")
        db.session.commit()
    server = _server(db_path, tmp_path / "cache")
    here = server.test_client()  # this process is one worker
    server.test_client().get("/category/fiction")  # cached
    log_in(here, "reader@example.test")
    here.get("/category/fiction")  # the reader looked up, and kept
    assert here.get("/category/fiction").headers.get("X-Cache") == "hit"

    _in_a_worker(server, _log_out_everywhere, "reader@example.test")

    page = here.get("/category/fiction")
    assert "Log out" not in page.get_data(as_text=True)
    with server.app_context():
        db.engine.dispose()
