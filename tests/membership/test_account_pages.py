"""Account pages through the test client: join, log in and out, profile, password, reset."""

from __future__ import annotations

import re
from html import unescape

import pytest
import sqlalchemy as sa

from app.core.extensions import db
from app.membership import members
from app.models import Book, Cart, Member, OutboxMail
from app.ordering.cart import SESSION_KEY
from tests.factories import make_book, make_member
from tests.pages import csrf_token as _csrf_token
from tests.pages import post_login

EMAIL = "reader@example.com"
PASSWORD = "correct horse 1"
NEW_PASSWORD = "battery staple 2"


@pytest.fixture
def reader(app) -> int:
    with app.app_context():
        member = make_member(email=EMAIL, password=PASSWORD, name="Ada Reader")
        db.session.commit()
        return member.id


def _login(client, email=EMAIL, password=PASSWORD, **extra):
    return post_login(client, email, password, **extra)


def _register(client, **overrides):
    data = {
        "email": "new@example.com",
        "name": "New Reader",
        "password": PASSWORD,
        "confirm": PASSWORD,
    }
    data.update(overrides)
    return client.post("/account/register", data=data)


def _text(response) -> str:
    return unescape(response.get_data(as_text=True))


def _member_count(app) -> int:
    with app.app_context():
        return db.session.scalar(sa.select(sa.func.count(Member.id)))


# --------------------------------------------------------------------------- register


def test_the_join_form_states_the_password_rules(client):
    response = client.get("/account/register")

    assert response.status_code == 200
    page = _text(response)
    assert "At least 10 characters" in page
    assert "not only digits" in page
    assert 'autocomplete="new-password"' in page


def _confirm_link(app, email="new@example.com") -> str:
    """The confirmation link mailed at registration (issue 17), as a path."""
    with app.app_context():
        body = db.session.scalar(sa.select(OutboxMail.body_text).where(
            OutboxMail.to_email == email, OutboxMail.kind == "confirm_email"))
    return re.search(r"http://localhost(/account/confirm/\S+)", body).group(1)


def test_joining_and_following_the_mailed_link_logs_the_new_member_in_with_their_number(
        app, client):
    joined = _register(client)
    assert joined.status_code == 200 and "Check your inbox" in _text(joined)

    response = client.post(_confirm_link(app), data={"password": PASSWORD})

    assert response.status_code == 302
    assert response.headers["Location"] == "/account/"
    overview = client.get("/account/")
    assert overview.status_code == 200
    with app.app_context():
        member = db.session.scalar(sa.select(Member).where(Member.email == "new@example.com"))
    page = _text(overview)
    assert "Welcome to Bookstation, New Reader!" in page
    assert member.member_no in page
    assert "Regular" in page


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"email": "not-an-email"}, "valid email address"),
        ({"email": ""}, "enter your email"),
        ({"name": ""}, "tell us your name"),
        ({"name": "n" * 121}, "At most 120 characters"),
        ({"password": "short", "confirm": "short"}, "at least 10 characters"),
        ({"password": "12345678901", "confirm": "12345678901"}, "more than digits"),
        (
            {
                "email": "same@example.com",
                "password": "same@example.com",
                "confirm": "same@example.com",
            },
            "must not be your email",
        ),
        ({"password": "x" * 129, "confirm": "x" * 129}, "at most 128 characters"),
        ({"confirm": "something else"}, "not the same"),
    ],
)
def test_bad_registration_input_is_shown_beside_the_field_and_keeps_what_was_typed(
    app, client, overrides, message
):
    response = _register(client, **overrides)

    assert response.status_code == 400
    page = _text(response)
    assert message.lower() in page.lower()
    assert 'class="error"' in page
    typed_email = overrides.get("email", "new@example.com")
    typed_name = overrides.get("name", "New Reader")
    if typed_email:
        assert f'value="{typed_email}"' in page
    if typed_name:
        assert f'value="{typed_name}"' in page
    assert _member_count(app) == 0


def test_an_email_that_already_has_an_account_in_another_case_does_not_join_again(
        app, client, reader):
    response = _register(client, email="READER@Example.com")

    assert response.status_code == 200  # the page every address gets (issue 17)
    page = _text(response)
    assert "Check your inbox" in page and "already exists" not in page
    assert _member_count(app) == 1
    with app.app_context():
        assert db.session.scalars(sa.select(OutboxMail.kind)).all() == ["join_attempt"]


def test_a_logged_in_member_visiting_the_join_page_goes_to_their_account(client, reader):
    _login(client)

    response = client.get("/account/register")

    assert response.status_code == 302
    assert response.headers["Location"] == "/account/"


# --------------------------------------------------------------------------- log in / out


def test_logging_in_with_the_right_password_opens_the_account(client, reader):
    response = _login(client, email="  Reader@Example.com ")

    assert response.status_code == 302
    assert response.headers["Location"] == "/account/"
    assert client.get("/account/").status_code == 200


def test_wrong_credentials_give_one_generic_message_and_keep_the_email(client, reader):
    wrong_password = _login(client, password="not the password")
    unknown_email = _login(client, email="nobody@example.com")

    assert wrong_password.status_code == unknown_email.status_code == 400
    message = "That email and password don't match. Please try again."
    assert message in _text(wrong_password)
    assert message in _text(unknown_email)
    assert f'value="{EMAIL}"' in _text(wrong_password)
    assert 'value="nobody@example.com"' in _text(unknown_email)
    assert PASSWORD not in _text(wrong_password)
    assert client.get("/account/").status_code == 302


def test_an_inactive_account_cannot_log_in(app, client, reader):
    with app.app_context():
        db.session.get(Member, reader).is_active_account = False
        db.session.commit()

    response = _login(client)

    assert response.status_code == 400


def test_logging_out_ends_the_session(client, reader):
    _login(client)

    response = client.post("/account/logout")

    assert response.status_code == 302
    assert response.headers["Location"] == "/"
    assert client.get("/account/").status_code == 302


def test_logging_out_is_not_possible_with_a_get(client, reader):
    _login(client)

    assert client.get("/account/logout").status_code == 405
    assert client.get("/account/").status_code == 200


def test_remember_me_sets_the_remember_cookie(client, reader):
    response = _login(client, remember="y")

    cookies = response.headers.getlist("Set-Cookie")
    assert any(c.startswith("remember_token=") for c in cookies)


def test_without_remember_me_no_remember_cookie_is_set(client, reader):
    response = _login(client)

    cookies = response.headers.getlist("Set-Cookie")
    assert not any(c.startswith("remember_token=") for c in cookies)


def test_the_remember_cookie_alone_logs_a_member_back_in(app, reader):
    first = app.test_client()
    _login(first, remember="y")
    remember = first.get_cookie("remember_token")
    later = app.test_client()

    later.set_cookie("remember_token", remember.value)

    assert later.get("/account/").status_code == 200


def test_an_anonymous_visitor_is_sent_to_log_in_and_back(client, reader):
    response = client.get("/account/profile")

    assert response.status_code == 302
    assert response.headers["Location"].startswith("/account/login?next=")
    assert _login(client, next="/account/profile").headers["Location"] == "/account/profile"


@pytest.mark.parametrize(
    ("next_url", "expected"),
    [
        ("/account/profile", "/account/profile"),
        ("/search?q=dune", "/search?q=dune"),
        ("//evil.example", "/account/"),
        ("//evil.example/account/", "/account/"),
        ("https://evil.example", "/account/"),
        ("https://evil.example/account/", "/account/"),
        ("/\\evil.example", "/account/"),
        ("javascript:alert(1)", "/account/"),
    ],
)
def test_after_login_only_same_site_next_urls_are_followed(client, reader, next_url, expected):
    response = client.post(
        f"/account/login?next={next_url}", data={"email": EMAIL, "password": PASSWORD}
    )

    assert response.status_code == 302
    assert response.headers["Location"] == expected


def test_the_login_page_carries_a_safe_next_into_its_form_and_drops_an_unsafe_one(client):
    safe = _text(client.get("/account/login?next=/account/profile"))
    unsafe = _text(client.get("/account/login?next=https://evil.example"))

    assert 'name="next" type="hidden" value="/account/profile"' in safe
    assert "evil.example" not in unsafe


@pytest.mark.parametrize(
    "app_config", [{"RATELIMIT_ENABLED": True, "LOGIN_RATE_LIMIT": "3 per minute"}]
)
def test_the_fourth_login_attempt_in_a_minute_is_refused(client, reader):
    statuses = [_login(client, password=f"guess number {i}").status_code for i in range(4)]

    assert statuses == [400, 400, 400, 429]
    assert client.get("/account/login").status_code == 200
    assert "Too many attempts" in _text(_login(client))


def test_logging_in_moves_the_anonymous_cart_into_the_members_cart(app, client, reader):
    with app.app_context():
        book_id = make_book(stock_on_hand=5).id
        db.session.commit()
    with client.session_transaction() as sess:
        sess[SESSION_KEY] = {str(book_id): 2}

    _login(client)

    with client.session_transaction() as sess:
        assert not sess.get(SESSION_KEY)
    with app.app_context():
        cart = db.session.scalar(sa.select(Cart).where(Cart.member_id == reader))
        assert [(line.book_id, line.quantity) for line in cart.lines] == [(book_id, 2)]
        assert db.session.get(Book, book_id).stock_on_hand == 5


# --------------------------------------------------------------------------- overview


def test_the_overview_shows_number_join_date_grade_and_links(app, client, reader):
    _login(client)

    response = client.get("/account/")

    with app.app_context():
        member = db.session.get(Member, reader)
        member_no, year = member.member_no, member.joined_at.year
    page = _text(response)
    assert response.status_code == 200
    assert member_no in page
    assert str(year) in page
    assert "Regular" in page
    for href in ("/account/profile", "/account/password", "/orders"):
        assert f'href="{href}"' in page


# --------------------------------------------------------------------------- profile


def test_the_profile_form_is_prefilled_from_the_account(client, reader):
    _login(client)

    page = _text(client.get("/account/profile"))

    assert 'value="Ada Reader"' in page
    assert 'autocomplete="postal-code"' in page


def test_editing_the_profile_saves_name_phone_and_address(app, client, reader):
    _login(client)

    response = client.post(
        "/account/profile",
        data={
            "name": "Ada Lovelace",
            "phone": "+86 10 1234 5678",
            "address_line1": "1 Book Street",
            "address_line2": "",
            "city": "Beijing",
            "region": "",
            "postcode": "100000",
            "country": "China",
        },
    )

    assert response.status_code == 302
    assert "Your details are saved." in _text(client.get(response.headers["Location"]))
    with app.app_context():
        member = db.session.get(Member, reader)
        assert (
            member.name,
            member.phone,
            member.address_line1,
            member.address_line2,
            member.city,
            member.postcode,
            member.country,
        ) == (
            "Ada Lovelace",
            "+86 10 1234 5678",
            "1 Book Street",
            None,
            "Beijing",
            "100000",
            "China",
        )
        assert member.has_address


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("name", "", "tell us your name"),
        ("phone", "call me maybe", "digits, spaces"),
        ("postcode", "1" * 21, "At most 20 characters"),
        ("address_line1", "a" * 201, "At most 200 characters"),
        ("country", "c" * 61, "At most 60 characters"),
    ],
)
def test_bad_profile_input_is_refused_and_nothing_is_saved(
    app, client, reader, field, value, message
):
    _login(client)
    data = {"name": "Changed Name", "city": "Shanghai", field: value}

    response = client.post("/account/profile", data=data)

    assert response.status_code == 400
    page = _text(response)
    assert message.lower() in page.lower()
    assert 'value="Shanghai"' in page
    with app.app_context():
        member = db.session.get(Member, reader)
        assert (member.name, member.city) == ("Ada Reader", None)


# --------------------------------------------------------------------------- password


def test_changing_the_password_logs_out_other_sessions_but_keeps_this_one(app, reader):
    here, elsewhere = app.test_client(), app.test_client()
    _login(here)
    _login(elsewhere)

    response = here.post(
        "/account/password",
        data={
            "current_password": PASSWORD,
            "password": NEW_PASSWORD,
            "confirm": NEW_PASSWORD,
        },
    )

    assert response.status_code == 302
    assert here.get("/account/").status_code == 200
    assert elsewhere.get("/account/").status_code == 302
    assert _login(app.test_client(), password=PASSWORD).status_code == 400
    assert _login(app.test_client(), password=NEW_PASSWORD).status_code == 302


def test_changing_the_password_keeps_a_remembered_browser_remembered(app, reader):
    here = app.test_client()
    _login(here, remember="y")

    here.post(
        "/account/password",
        data={
            "current_password": PASSWORD,
            "password": NEW_PASSWORD,
            "confirm": NEW_PASSWORD,
        },
    )
    remember = here.get_cookie("remember_token")
    later = app.test_client()
    later.set_cookie("remember_token", remember.value)

    assert later.get("/account/").status_code == 200


@pytest.mark.parametrize(
    ("current", "new", "confirm", "message"),
    [
        ("wrong password!", NEW_PASSWORD, NEW_PASSWORD, "not your current password"),
        (PASSWORD, "short", "short", "at least 10"),
        (PASSWORD, EMAIL, EMAIL, "must not be your email"),
        (PASSWORD, PASSWORD, PASSWORD, "different from your current"),
        (PASSWORD, NEW_PASSWORD, "typo typo typo", "not the same"),
    ],
)
def test_a_refused_password_change_says_why_and_changes_nothing(
    client, reader, current, new, confirm, message
):
    _login(client)

    response = client.post(
        "/account/password",
        data={
            "current_password": current,
            "password": new,
            "confirm": confirm,
        },
    )

    assert response.status_code == 400
    assert message.lower() in _text(response).lower()
    assert client.get("/account/").status_code == 200
    assert _login(client.application.test_client()).status_code == 302


# --------------------------------------------------------------------------- forgot / reset


def test_the_forgot_form_answers_the_same_for_members_and_strangers(app, client, reader):
    known = client.post("/account/forgot", data={"email": EMAIL}, follow_redirects=True)
    unknown = client.post(
        "/account/forgot", data={"email": "nobody@example.com"}, follow_redirects=True
    )

    assert known.status_code == unknown.status_code == 200
    assert known.request.path == unknown.request.path == "/account/login"
    known_text = _text(known).replace(EMAIL, "EMAIL")
    unknown_text = _text(unknown).replace("nobody@example.com", "EMAIL")
    assert "If an account exists for EMAIL, we have sent it a link" in known_text
    assert re.sub(r'value="[^"]*"', "", known_text) == re.sub(r'value="[^"]*"', "", unknown_text)
    with app.app_context():  # one mail each: a link for the member, a notice for the other
        assert db.session.execute(sa.select(OutboxMail.to_email, OutboxMail.kind)
                                  .order_by(OutboxMail.id)).all() == [
            (EMAIL, "password_reset"), ("nobody@example.com", "password_reset_unknown")]


def test_the_forgot_form_needs_an_email(client):
    response = client.post("/account/forgot", data={"email": ""})

    assert response.status_code == 400
    assert "enter your email" in _text(response)


@pytest.mark.parametrize("token", ["garbage", "a" * 900, "eyJtIjoxfQ.Zz.Zz"])
def test_a_bad_reset_link_shows_a_page_to_ask_again(client, reader, token):
    response = client.get(f"/account/reset/{token}")

    assert response.status_code == 400
    page = _text(response)
    assert "This link no longer works" in page
    assert 'href="/account/forgot"' in page


def test_a_good_reset_link_sets_a_new_password_once(app, client, reader):
    with app.app_context():
        token = members.make_reset_token(db.session.get(Member, reader))

    form = client.get(f"/account/reset/{token}")
    response = client.post(
        f"/account/reset/{token}", data={"password": NEW_PASSWORD, "confirm": NEW_PASSWORD}
    )

    assert form.status_code == 200
    assert form.headers["Referrer-Policy"] == "no-referrer"
    assert response.status_code == 302
    assert response.headers["Location"] == "/account/login"
    assert _login(client, password=NEW_PASSWORD).status_code == 302
    assert app.test_client().get(f"/account/reset/{token}").status_code == 400


def test_a_weak_new_password_on_the_reset_form_is_refused_and_the_link_still_works(
    app, client, reader
):
    with app.app_context():
        token = members.make_reset_token(db.session.get(Member, reader))

    response = client.post(
        f"/account/reset/{token}", data={"password": "1234567890", "confirm": "1234567890"}
    )

    assert response.status_code == 400
    assert "more than digits" in _text(response)
    assert client.get(f"/account/reset/{token}").status_code == 200


# --------------------------------------------------------------------------- CSRF


@pytest.mark.parametrize("app_config", [{"WTF_CSRF_ENABLED": True}])
@pytest.mark.parametrize(
    ("path", "data"),
    [
        (
            "/account/register",
            {"email": "new@example.com", "name": "New", "password": PASSWORD, "confirm": PASSWORD},
        ),
        ("/account/login", {"email": EMAIL, "password": PASSWORD}),
        ("/account/forgot", {"email": EMAIL}),
        ("/account/reset/{token}", {"password": NEW_PASSWORD, "confirm": NEW_PASSWORD}),
        ("/account/logout", {}),
    ],
)
def test_an_anonymous_post_without_a_csrf_token_is_refused(app, client, reader, path, data):
    with app.app_context():
        member = db.session.get(Member, reader)
        token, password_hash = members.make_reset_token(member), member.password_hash

    response = client.post(path.format(token=token), data=data)

    assert response.status_code == 400
    assert _member_count(app) == 1
    assert client.get("/account/").status_code == 302  # the refused post started no session
    with app.app_context():
        assert db.session.get(Member, reader).password_hash == password_hash


@pytest.mark.parametrize("app_config", [{"WTF_CSRF_ENABLED": True}])
@pytest.mark.parametrize(
    ("path", "data"),
    [
        ("/account/profile", {"name": "Forged Name"}),
        (
            "/account/password",
            {"current_password": PASSWORD, "password": NEW_PASSWORD, "confirm": NEW_PASSWORD},
        ),
        ("/account/logout", {}),
    ],
)
def test_a_members_post_without_a_csrf_token_is_refused(app, client, reader, path, data):
    token = _csrf_token(client, "/account/login")
    assert _login(client, csrf_token=token).status_code == 302

    response = client.post(path, data=data)

    assert response.status_code == 400
    assert client.get("/account/").status_code == 200
    with app.app_context():
        assert db.session.get(Member, reader).name == "Ada Reader"


@pytest.mark.parametrize("app_config", [{"WTF_CSRF_ENABLED": True}])
def test_the_join_form_works_with_its_csrf_token(app, client):
    token = _csrf_token(client, "/account/register")

    response = _register(client, csrf_token=token)

    assert response.status_code == 200 and "Check your inbox" in _text(response)
    link = _confirm_link(app)
    confirmed = client.post(link, data={"csrf_token": _csrf_token(client, link),
                                        "password": PASSWORD})
    assert confirmed.status_code == 302
    assert _member_count(app) == 1
