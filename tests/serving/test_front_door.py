"""A request for a cached catalog page is answered before Flask (app/serving/front_door.py),
for a visitor and for a logged-in member whose request Flask would only read, with exactly
what Flask would have answered: the same page, language, header, compression, and a CSRF token
and session cookie that work. Anyone the page cache would not serve, any member whose request
would make Flask write something (their last-seen time, a cookie, a session Flask-Login's
protection would mark), and any page it no longer holds, goes through Flask."""

from __future__ import annotations

import gzip
import re
import time
from datetime import timedelta

import pytest
import sqlalchemy as sa
from flask import request_started

from app.core.db import utcnow
from app.core.extensions import cache, db
from app.membership import sessions
from app.membership.models import Member, MemberSession, Role, new_auth_token
from app.serving import page_store
from app.serving.front_door import ENVIRON_KEY
from tests.factories import make_book, make_category, make_member, make_staff
from tests.helpers import counting_statements
from tests.serving.test_page_cache import CSRF_ON, log_in, token_in

TOKEN = re.compile(r'(name="csrf_token" (?:type="hidden" )?value=")[^"]+(")')


@pytest.fixture
def reached_flask(app):
    """The paths of the requests that reached Flask (Flask's own request_started signal)."""
    yield from paths_reaching_flask(app)


def paths_reaching_flask(app):
    paths: list[str] = []

    def started(sender, **extra):
        from flask import request
        paths.append(request.full_path.rstrip("?"))

    request_started.connect(started, app)
    yield paths
    request_started.disconnect(started, app)


def without_tokens(page: str) -> str:
    return TOKEN.sub(r"\1TOKEN\2", page)


@CSRF_ON
@pytest.mark.parametrize("path", ["/", "/category/fiction", "/search?q=tale", "/book/{book}"])
def test_a_visitor_gets_from_the_front_door_the_page_flask_rendered(app, shelf, reached_flask,
                                                                    path):
    path = path.format(book=shelf["book"])
    from_flask = app.test_client().get(path)
    from_door = app.test_client().get(path)

    assert reached_flask == [path]  # the second visitor never reached Flask
    assert from_door.status_code == 200
    assert without_tokens(from_door.get_data(True)) == without_tokens(from_flask.get_data(True))
    assert from_door.headers["Content-Type"] == from_flask.headers["Content-Type"]
    assert set(from_door.vary) == set(from_flask.vary) >= {"Cookie", "Accept-Language"}
    assert "\x1e" not in from_door.get_data(True)


@CSRF_ON
def test_the_front_doors_token_and_session_cookie_add_to_the_cart(app, shelf, reached_flask):
    path = f"/book/{shelf['book']}"
    app.test_client().get(path)
    visitor = app.test_client()

    page = visitor.get(path)
    assert reached_flask == [path]
    assert "session=" in page.headers["Set-Cookie"]
    assert "HttpOnly" in page.headers["Set-Cookie"]

    added = visitor.post("/cart/add", data={"csrf_token": token_in(page.get_data(True)),
                                            "book_id": shelf["book"], "quantity": 1})
    assert added.status_code == 302
    visitor.get("/cart")  # reads the "in your cart" message
    assert re.search(r'data-testid="cart-count">\s*1\s*<', visitor.get("/").get_data(True))


@CSRF_ON
def test_a_returning_visitor_keeps_one_token_and_gets_no_new_cookie(app, shelf, reached_flask):
    path = f"/book/{shelf['book']}"
    visitor = app.test_client()
    first = visitor.get(path)  # through Flask: the session and its token are made here
    second = visitor.get(path)

    assert reached_flask == [path]
    assert "Set-Cookie" not in second.headers
    added = visitor.post("/cart/add", data={"csrf_token": token_in(second.get_data(True)),
                                            "book_id": shelf["book"], "quantity": 1})
    assert added.status_code == 302
    assert first.status_code == 200


def member_reads_twice(app, path: str, reached_flask: list, email: str = "reader@example.test",
                       **client_options):
    """A logged-in reader's two reads of `path`, already cached by a visitor: the first goes
    through Flask (the front door's index is emptied first; Flask records the URL again), the
    second may come from the front door. Returns (the client, the first page, the second)."""
    app.test_client().get(path)
    member = app.test_client(**client_options)
    log_in(member, email)
    app.extensions["bookstation.front_door"].index.clear()
    reached_flask.clear()
    return member, member.get(path), member.get(path)


@CSRF_ON
@pytest.mark.parametrize("path", ["/", "/category/fiction", "/search?q=tale", "/book/{book}"])
def test_a_member_gets_from_the_front_door_the_page_flask_rendered_for_them(
        app, shelf, reached_flask, path):
    path = path.format(book=shelf["book"])
    _member, from_flask, from_door = member_reads_twice(app, path, reached_flask)

    assert reached_flask == [path]  # the second read never reached Flask
    assert from_door.status_code == 200
    assert from_door.headers["X-Cache"] == "hit"
    assert without_tokens(from_door.get_data(True)) == without_tokens(from_flask.get_data(True))
    assert "Log out" in from_door.get_data(True)
    assert from_door.headers["Content-Type"] == from_flask.headers["Content-Type"]
    assert set(from_door.vary) == set(from_flask.vary)
    assert from_door.headers.get("Cache-Control") == from_flask.headers.get("Cache-Control")
    assert "Set-Cookie" not in from_door.headers and "Set-Cookie" not in from_flask.headers
    assert "\x1e" not in from_door.get_data(True)


def later(app, seconds: float) -> None:
    """The front door's clock, `seconds` on from now (what it has kept ages)."""
    app.extensions["bookstation.front_door"].clock = lambda: time.monotonic() + seconds


def past_keeping(app) -> None:
    later(app, app.config["READER_KEEP_SECONDS"] + 1)


def test_a_member_served_by_the_front_door_costs_one_statement_then_none(app, shelf,
                                                                       reached_flask):
    path = f"/book/{shelf['book']}"
    member = app.test_client()
    app.test_client().get(path)
    app.test_client().get("/")
    log_in(member)  # (its last page went through Flask: it read the welcome message)
    reached_flask.clear()

    with counting_statements(app) as first:
        member.get(path)
    with counting_statements(app) as next_ones:
        member.get(path)
        member.get("/")
    past_keeping(app)
    with counting_statements(app) as after_keeping:
        member.get(path)

    assert reached_flask == []
    assert len(first) == 1, first  # the session, the role, language and cart badge
    assert next_ones == []  # kept for READER_KEEP_SECONDS
    assert len(after_keeping) == 1, after_keeping


def test_a_kept_reader_and_its_page_are_read_in_one_round_trip_to_the_shared_cache(
        app, shelf, reached_flask, monkeypatch):
    path = f"/book/{shelf['book']}"
    member, _from_flask, _first_from_door = member_reads_twice(app, path, reached_flask)
    reads: list[tuple[str, ...]] = []
    get, get_many = cache.get, cache.get_many
    monkeypatch.setattr(cache, "get", lambda key: reads.append((key,)) or get(key))
    monkeypatch.setattr(cache, "get_many", lambda *keys: reads.append(keys) or get_many(*keys))

    with counting_statements(app) as statements:
        answer = member.get(path)

    assert reached_flask == [path]  # only the first read
    assert answer.headers["X-Cache"] == "hit" and "Log out" in answer.get_data(True)
    assert statements == []
    assert len(reads) == 1, reads  # the readers' generation with the page


@pytest.mark.parametrize("app_config", [{"READER_KEEP_SECONDS": 0}])
def test_with_no_keeping_every_page_from_the_front_door_looks_the_member_up(app, shelf,
                                                                          reached_flask):
    path = f"/book/{shelf['book']}"
    member, _first, _second = member_reads_twice(app, path, reached_flask)

    with counting_statements(app) as statements:
        member.get(path)

    assert reached_flask == [path]
    assert len(statements) == 1, statements


@CSRF_ON
def test_the_front_doors_token_works_for_a_member_and_the_badge_counts_at_once(
        app, shelf, reached_flask):
    path = f"/book/{shelf['book']}"
    member, _first, page = member_reads_twice(app, path, reached_flask)

    added = member.post("/cart/add", data={"csrf_token": token_in(page.get_data(True)),
                                           "book_id": shelf["book"], "quantity": 2})
    assert added.status_code == 302
    member.get("/cart")  # reads the "in your cart" message
    member.get(path)  # the header for a cart of two is not kept yet: through Flask
    reached_flask.clear()
    again = member.get(path)

    assert reached_flask == []
    assert re.search(r'data-testid="cart-count">\s*2\s*<', again.get_data(True))


def test_another_browsers_change_to_the_cart_shows_once_the_reader_is_no_longer_kept(
        app, shelf, reached_flask):
    path = f"/book/{shelf['book']}"
    member, _first, _second = member_reads_twice(app, path, reached_flask)
    phone = app.test_client()
    log_in(phone)
    phone.post("/cart/add", data={"book_id": shelf["book"], "quantity": 3})
    member.get("/cart")  # the header for a cart of three is rendered and kept
    reached_flask.clear()

    kept = member.get(path).get_data(True)
    past_keeping(app)
    looked_up = member.get(path).get_data(True)

    assert reached_flask == []
    assert re.search(r'data-testid="cart-count">\s*0\s*<', kept) or \
        'data-testid="cart-count"' not in kept  # as before the phone's change
    assert re.search(r'data-testid="cart-count">\s*3\s*<', looked_up)


@pytest.mark.parametrize("change", ["role", "locale"])
def test_a_role_or_saved_language_changed_elsewhere_shows_at_once(app, shelf, reached_flask,
                                                                  change):
    member, _first, _second = member_reads_twice(app, "/", reached_flask)
    member.set_cookie("lang", "en")
    app.test_client().get("/", headers={"Accept-Language": "zh-CN"})  # "/" in Chinese too
    before = member.get("/").get_data(True)  # the kept reader
    with app.app_context():
        reader = db.session.scalar(sa.select(Member).where(Member.email == "reader@example.test"))
        if change == "role":
            reader.role = Role.STAFF
        else:
            reader.locale = "zh_Hans"
        db.session.commit()
    member.get("/")  # the staff header may not be kept yet: then Flask
    reached_flask.clear()

    page = member.get("/").get_data(True)

    assert reached_flask == []
    assert '<html lang="en"' in before and 'href="/admin/' not in before
    if change == "role":
        assert 'href="/admin/' in page
    else:
        assert '<html lang="zh-Hans"' in page


def test_staff_get_their_own_header_from_the_front_door(app, shelf, reached_flask):
    with app.app_context():
        make_staff(email="clerk@example.test")
        db.session.commit()
    _staff, from_flask, from_door = member_reads_twice(app, "/", reached_flask,
                                                       email="clerk@example.test")

    assert reached_flask == ["/"]
    assert from_door.get_data(True) == from_flask.get_data(True)
    assert 'href="/admin/' in from_door.get_data(True)


def test_a_member_gets_their_saved_language_from_the_front_door(app, shelf, reached_flask):
    app.test_client().get("/", headers={"Accept-Language": "zh-CN"})  # cached in Chinese
    with app.app_context():
        db.session.execute(sa.update(Member).where(Member.email == "reader@example.test")
                           .values(locale="zh_Hans"))
        db.session.commit()

    _member, from_flask, from_door = member_reads_twice(app, "/", reached_flask)

    assert reached_flask == ["/"]
    assert 'lang="zh-Hans"' in from_flask.get_data(True)
    assert from_door.get_data(True) == from_flask.get_data(True)


def test_a_reader_forgotten_elsewhere_is_looked_up_again_by_the_front_door(app, shelf,
                                                                         reached_flask):
    """Another member's log-out makes every kept reader stale; each is looked up again (one
    statement) and the door still answers: no member is sent through Flask for it."""
    path = f"/book/{shelf['book']}"
    member, _first, _second = member_reads_twice(app, path, reached_flask)  # kept from here
    with app.app_context():
        page_store.forget_readers()  # as membership does at another session's end
    with counting_statements(app) as looked_up:
        after_forgetting = member.get(path)
    with counting_statements(app) as kept_again:
        member.get(path)

    assert reached_flask == [path]  # only the first read
    assert after_forgetting.headers["X-Cache"] == "hit"
    assert "Log out" in after_forgetting.get_data(True)
    assert len(looked_up) == 1, looked_up
    assert kept_again == []


@pytest.mark.parametrize("how", ["end_all", "end_others", "end_by_id", "password"])
def test_a_member_whose_session_was_ended_elsewhere_goes_through_flask_at_once(
        app, shelf, reached_flask, how):
    member, _first, _second = member_reads_twice(app, "/", reached_flask)  # kept from here
    with app.test_request_context():
        reader = db.session.scalar(sa.select(Member).where(Member.email == "reader@example.test"))
        if how == "end_all":
            sessions.end_all(reader)  # "log out everywhere"
        elif how == "end_others":
            sessions.end_others(reader, "another browser's key")
        elif how == "end_by_id":
            sessions.end_by_id(reader, db.session.scalar(sa.select(MemberSession.id)))
        else:
            reader.auth_token = new_auth_token()  # as a password change does
        db.session.commit()
    reached_flask.clear()

    page = member.get("/").get_data(True)

    assert reached_flask == ["/"]
    assert "Log out" not in page


def test_a_session_ended_behind_the_shops_back_is_seen_once_its_keeping_is_over(
        app, shelf, reached_flask):
    member, _first, _second = member_reads_twice(app, "/", reached_flask)
    with app.app_context():
        db.session.execute(sa.delete(MemberSession))  # not through app.membership.sessions
        db.session.commit()
    reached_flask.clear()

    kept = member.get("/").get_data(True)
    past_keeping(app)
    page = member.get("/").get_data(True)

    assert "Log out" in kept  # for at most READER_KEEP_SECONDS
    assert reached_flask == ["/"]
    assert "Log out" not in page


def test_a_member_whose_last_seen_time_is_due_goes_through_flask_which_writes_it(
        app, shelf, reached_flask):
    member, _first, _second = member_reads_twice(app, "/", reached_flask)
    long_ago = utcnow() - timedelta(seconds=app.config["SESSION_TOUCH_SECONDS"] + 5)
    with app.app_context():
        db.session.execute(sa.update(MemberSession).values(last_seen_at=long_ago))
        db.session.commit()
    past_keeping(app)  # (a reader is never kept past the time its last-seen time falls due)
    reached_flask.clear()

    member.get("/")
    member.get("/")

    assert reached_flask == ["/"]  # the first wrote the time; the second came from the door
    with app.app_context():
        assert db.session.scalar(sa.select(MemberSession.last_seen_at)) > long_ago


@pytest.mark.parametrize("elsewhere", [{"headers": {"User-Agent": "Another browser"}},
                                       {"environ_overrides": {"REMOTE_ADDR": "192.0.2.7"}}])
def test_a_fresh_login_seen_from_another_browser_or_address_goes_through_flask(
        app, shelf, reached_flask, elsewhere):
    member, _first, _second = member_reads_twice(app, "/", reached_flask)
    reached_flask.clear()

    first = member.get("/", **elsewhere)  # Flask-Login marks the login not fresh
    second = member.get("/", **elsewhere)  # it would change nothing more: the front door

    assert reached_flask == ["/"]
    assert "Set-Cookie" in first.headers and "Log out" in second.get_data(True)


@pytest.mark.parametrize("action", ["set", "clear"])
def test_a_member_with_a_remember_cookie_to_set_or_clear_goes_through_flask(
        app, shelf, reached_flask, action):
    member, _first, _second = member_reads_twice(app, "/", reached_flask)
    with member.session_transaction() as session:
        session["_remember"] = action
    reached_flask.clear()

    page = member.get("/")

    assert reached_flask == ["/"]
    assert "remember_token=" in page.headers["Set-Cookie"]


@pytest.mark.parametrize("app_config", [{"REMEMBER_COOKIE_REFRESH_EACH_REQUEST": True}])
def test_every_member_goes_through_flask_when_the_remember_cookie_is_refreshed_each_time(
        app, shelf, reached_flask):
    member, _first, _second = member_reads_twice(app, "/", reached_flask)

    assert reached_flask == ["/", "/"]
    assert "Log out" in _second.get_data(True)


def test_a_member_back_from_the_remember_cookie_gets_the_front_door(app, shelf, reached_flask):
    member, _first, _second = member_reads_twice(app, "/", reached_flask)
    with member.session_transaction() as session:  # as Flask-Login restores a session
        del session["_id"]
        session["_fresh"] = False
    reached_flask.clear()

    page = member.get("/")

    assert reached_flask == []
    assert "Log out" in page.get_data(True) and "Set-Cookie" not in page.headers


def test_a_member_whose_account_was_deactivated_goes_through_flask_as_a_visitor(
        app, shelf, reached_flask):
    member, _first, _second = member_reads_twice(app, "/", reached_flask)
    with app.app_context():
        db.session.scalar(sa.select(Member)).is_active_account = False
        db.session.commit()
    reached_flask.clear()

    page = member.get("/").get_data(True)

    assert reached_flask == ["/"]
    assert "Log out" not in page


@pytest.mark.parametrize("app_config", [{"PROPAGATE_EXCEPTIONS": False}])
def test_a_database_failing_the_members_lookup_leaves_the_request_to_flask(
        app, shelf, reached_flask):
    member, _first, _second = member_reads_twice(app, "/", reached_flask)
    with app.app_context():
        db.session.execute(sa.text("ALTER TABLE member_sessions RENAME TO member_sessions_gone"))
        db.session.commit()
    past_keeping(app)
    reached_flask.clear()

    page = member.get("/")

    assert reached_flask == ["/"]  # the front door's failure did not end the request
    assert page.status_code == 500 and "<header" in page.get_data(True)  # Flask's error page


def test_a_member_is_never_served_a_page_with_a_part_of_their_own(app, shelf, reached_flask):
    path = f"/book/{shelf['out']}"  # sold out, and asked for by this member
    visitors = app.test_client().get(path).get_data(True)
    member = app.test_client()
    log_in(member)
    reached_flask.clear()

    pages = [member.get(path).get_data(True) for _ in range(2)]

    assert reached_flask == [path, path]
    assert all(page != visitors and "Log out" in page for page in pages)


def test_a_remembered_member_without_a_session_goes_through_flask(app, shelf, reached_flask):
    app.test_client().get("/")
    member = app.test_client()
    member.set_cookie("remember_token", "anything")
    reached_flask.clear()

    member.get("/")

    assert reached_flask == ["/"]


def test_a_visitor_with_a_message_waiting_goes_through_flask(app, client, shelf, reached_flask):
    path = f"/book/{shelf['book']}"
    app.test_client().get(path)
    client.post("/cart/add", data={"book_id": shelf["book"], "quantity": 1})
    reached_flask.clear()

    assert "is in your cart" in client.get(path).get_data(True)
    assert reached_flask == [path]
    client.get(path)  # the message was read: now the front door answers
    assert reached_flask == [path]


def test_each_language_is_its_own_page(app, shelf, reached_flask):
    app.test_client().get("/")
    chinese = app.test_client()
    chinese.set_cookie("lang", "zh_Hans")

    first = chinese.get("/").get_data(as_text=True)  # not yet rendered in Chinese: Flask
    second = chinese.get("/").get_data(as_text=True)
    by_header = app.test_client().get("/", headers={"Accept-Language": "zh-CN,zh;q=0.9"})
    english = app.test_client().get("/", headers={"Accept-Language": "en-GB,en;q=0.8"})

    assert reached_flask == ["/", "/"]
    assert 'lang="zh-Hans"' in first and 'lang="zh-Hans"' in second
    assert 'lang="zh-Hans"' in by_header.get_data(True)
    assert 'lang="en"' in english.get_data(True)


def test_a_page_the_shop_forgot_is_rendered_again_by_flask(app, shelf, reached_flask):
    from app.catalog.web.views import forget_home_shelves

    app.test_client().get("/")
    with app.test_request_context():
        forget_home_shelves()

    app.test_client().get("/")

    assert reached_flask == ["/", "/"]


def test_an_expired_url_goes_back_through_flask(app, shelf, reached_flask):
    app.test_client().get("/")
    door = app.extensions["bookstation.front_door"]
    for languages in door.index.values():
        for locale, (key, _expires, root) in list(languages.items()):
            languages[locale] = (key, 0.0, root)

    app.test_client().get("/")

    assert reached_flask == ["/", "/"]


def test_the_front_door_compresses_as_flask_compress_does(app, shelf, reached_flask):
    app.test_client().get("/")
    plain = app.test_client().get("/").get_data(as_text=True)

    zipped = app.test_client().get("/", headers={"Accept-Encoding": "gzip"})

    assert reached_flask == ["/"]
    assert zipped.headers["Content-Encoding"] == "gzip"
    assert gzip.decompress(zipped.get_data()).decode() == plain


def comparable(headers) -> list[tuple[str, str]]:
    """A response's headers but those a server or a new cookie may add (the door sends no
    cookie a returning visitor has: see above) and Vary, whose order means nothing."""
    return sorted((name, value) for name, value in headers.items()
                  if name not in ("Set-Cookie", "Date", "Vary"))


@pytest.mark.parametrize("encoding", ["gzip", "identity"])
def test_the_front_doors_headers_are_those_flask_sends_with_the_page(app, shelf, reached_flask,
                                                                     encoding):
    path = f"/book/{shelf['book']}"
    visitor = app.test_client()
    visitor.get(path)  # the page is cached, the visitor has a session and a token
    headers = {"Accept-Encoding": encoding}
    app.extensions["bookstation.front_door"].index.clear()  # Flask records the URL again
    reached_flask.clear()
    from_flask = visitor.get(path, headers=headers)

    from_door = visitor.get(path, headers=headers)

    assert reached_flask == [path]
    assert from_door.status == from_flask.status == "200 OK"
    assert comparable(from_door.headers) == comparable(from_flask.headers)
    assert set(from_door.vary) == set(from_flask.vary)
    assert int(from_door.headers["Content-Length"]) == len(from_door.get_data())


def test_a_new_visitors_session_cookie_from_the_front_door_is_written_as_flask_writes_it(
        app, shelf, reached_flask):
    path = f"/book/{shelf['book']}"
    app.test_client().get(path)  # cached and indexed
    app.extensions["bookstation.front_door"].index.clear()
    reached_flask.clear()
    from_flask = app.test_client().get(path)  # a new visitor through Flask (indexes it again)

    from_door = app.test_client().get(path)  # another new visitor

    assert reached_flask == [path]
    flask_cookie, door_cookie = from_flask.headers["Set-Cookie"], from_door.headers["Set-Cookie"]
    assert door_cookie.startswith("session=") and flask_cookie.startswith("session=")
    assert door_cookie.split(";")[1:] == flask_cookie.split(";")[1:]  # the same attributes
    assert from_door.headers.getlist("Set-Cookie") == [door_cookie]


def test_only_a_get_for_a_cached_url_is_answered(app, shelf, reached_flask):
    app.test_client().get("/")
    client = app.test_client()

    client.head("/")
    client.get("/?page=1")
    client.get("/category/fiction")

    assert reached_flask == ["/", "/", "/?page=1", "/category/fiction"]


@pytest.mark.parametrize("app_config", [{"FRONT_DOOR": False}])
def test_the_front_door_can_be_turned_off(app, shelf, reached_flask):
    app.test_client().get("/")
    response = app.test_client().get("/")

    assert reached_flask == ["/", "/"]
    assert "bookstation.front_door" not in app.extensions
    assert ENVIRON_KEY not in response.request.environ


def test_a_member_gets_the_page_from_the_front_door_on_postgresql(pg_app):
    with pg_app.app_context():
        fiction = make_category(slug="fiction", name="Fiction")
        make_book(title="Cached tale", category=fiction, stock_on_hand=5)
        make_member(email="reader@example.test", locale="zh_Hans")
        db.session.commit()
    reached = paths_reaching_flask(pg_app)
    paths = next(reached)

    _member, from_flask, from_door = member_reads_twice(pg_app, "/category/fiction", paths)

    assert paths == ["/category/fiction"]
    assert 'lang="zh-Hans"' in from_door.get_data(True)
    assert from_door.get_data(True) == from_flask.get_data(True)


def test_a_front_door_keeps_a_bounded_number_of_readers(app, shelf, reached_flask, monkeypatch):
    from app.serving import front_door

    monkeypatch.setattr(front_door, "READERS_KEPT", 2)
    with app.app_context():
        for n in range(3):
            make_member(email=f"kept{n}@example.test")
        db.session.commit()
    door = app.extensions["bookstation.front_door"]
    sizes = []
    for n in range(3):
        member, _first, second = member_reads_twice(app, "/", reached_flask,
                                                    email=f"kept{n}@example.test")
        assert "Log out" in second.get_data(True)
        sizes.append(len(door.readers))

    assert sizes == [1, 2, 1]  # full at two: the third starts afresh
