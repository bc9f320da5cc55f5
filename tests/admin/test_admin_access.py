"""Every /admin route refuses non-staff: found by walking the URL map, so new pages are covered.

Anonymous visitors are sent to log in, logged-in members get 403, and staff see each page
(200, or 404 for an id that does not exist), never a server error, except the admin-only ones:
those are found from their `admin_required` / `admin_required_for` decorator
(app.admin.common.admin_only_rules), staff get 403 there and an admin gets in.
"""

from __future__ import annotations

from decimal import Decimal
from urllib.parse import urlsplit

import pytest
from werkzeug.routing import AnyConverter, IntegerConverter, Rule

from app import create_app
from app.admin.common import admin_only_rules
from app.core.extensions import db
from app.models import MailStatus, OutboxMail
from config import TestConfig
from tests.factories import (
    DEFAULT_PASSWORD,
    make_admin,
    make_book,
    make_category,
    make_member,
    make_placed_order,
)
from tests.pages import csrf_token, log_in, logged_in_client

METHODS = ("GET", "POST")


def _admin_rules() -> list[Rule]:
    """The admin routes of a freshly built app (no database needed to read the URL map)."""
    app = create_app(TestConfig)
    return sorted(
        (rule for rule in app.url_map.iter_rules() if rule.endpoint.startswith("admin.")),
        key=lambda rule: rule.rule,
    )


ADMIN_RULES = _admin_rules()
ADMIN_ONLY = [(rule, method) for rule, method in admin_only_rules(create_app(TestConfig))]
ADMIN_ONLY_KEYS = {(rule.endpoint, method) for rule, method in ADMIN_ONLY}


def _staff_may(rule: Rule, method: str) -> bool:
    return (rule.endpoint, method) not in ADMIN_ONLY_KEYS


def url_for_rule(rule: Rule) -> str:
    """The rule's path with plausible values: 1 for numbers, the first choice of an `any(...)`,
    "x" for other text."""
    values = {
        name: 1 if isinstance(converter, IntegerConverter)
        else sorted(converter.items)[0] if isinstance(converter, AnyConverter) else "x"
        for name, converter in rule._converters.items()
    }
    return rule.build(values)[1]


CASES = [
    pytest.param(rule, method, id=f"{method} {rule.rule}")
    for rule in ADMIN_RULES
    for method in METHODS
]


@pytest.fixture
def app_config(tmp_path):
    return {"MAIL_CATCHER_DIR": str(tmp_path / "mailbox")}


@pytest.fixture
def member_client(app, client, auth):
    with app.app_context():
        make_member(email="shopper@example.test")
        db.session.commit()
    auth.login("shopper@example.test", DEFAULT_PASSWORD)
    return client


@pytest.fixture
def admin_client(app, client):
    with app.app_context():
        make_admin(email="boss@example.test")
        db.session.commit()
    return log_in(client, "boss@example.test")


@pytest.fixture
def one_of_everything(app):
    """A book, a category, an order and a mail with id 1, so id pages render for real."""
    with app.app_context():
        category = make_category(slug="fiction", name="Fiction")
        book = make_book(title="Dune", category_id=category.id, price=Decimal("9.99"))
        order = make_placed_order(lines=[(book, 1)])
        # Issue 20 (returns): a return with id 1.
        from app.models import ReturnLine, ReturnReason, ReturnRequest
        db.session.add(ReturnRequest(order_id=order.id, member_id=order.member_id,
                                     reason=ReturnReason.DAMAGED,
                                     lines=[ReturnLine(order_line_id=order.lines[0].id,
                                                       quantity=1)]))
        db.session.add(OutboxMail(kind="test", to_email="a@example.test", subject="Hello",
                                  body_text="Hi", message_id="<1@test>",
                                  status=MailStatus.FAILED))
        # Issue 5 (campaigns): a draft campaign with id 1.
        from app.models import Campaign
        db.session.add(Campaign(name="Draft", subject="Hi", message="Hello", holdout_seed=1))
        # Issue 20 (service cases): a visitor's case with id 1.
        from app.support.cases import open_case
        open_case(subject="Hello", body="Hi", visitor_email="v@example.test",
                  visitor_name="Vera")
        # Issue 21 (call centre): a note with id 1 on member 1, written by member 1 (the
        # logged-in staff member or admin when the test logs one in first), and a template.
        from app.models import Interaction, MailTemplate
        db.session.add(Interaction(member_id=1, staff_id=1, kind="phone", body="Called"))
        db.session.add(MailTemplate(name="Hello", locale="en", subject="Hi", body="Hello"))
        db.session.commit()


def test_the_walk_finds_the_admin_pages():
    endpoints = {rule.endpoint for rule in ADMIN_RULES}

    assert {"admin.dashboard", "admin.books", "admin.book_new", "admin.book_edit",
            "admin.categories", "admin.orders", "admin.order_detail", "admin.order_status",
            "admin.mail_log", "admin.mail_detail", "admin.mail_resend",
            "admin.mail_catcher", "admin.mail_caught"} <= endpoints


@pytest.mark.parametrize(("rule", "method"), CASES)
def test_an_anonymous_visitor_is_sent_to_log_in(client, rule, method):
    response = client.open(url_for_rule(rule), method=method)

    if method in rule.methods:
        assert response.status_code == 302
        assert urlsplit(response.headers["Location"]).path == "/account/login"
    else:
        assert response.status_code == 405


@pytest.mark.parametrize(("rule", "method"), CASES)
def test_a_logged_in_member_is_refused_with_403(member_client, rule, method):
    response = member_client.open(url_for_rule(rule), method=method)

    assert response.status_code == (403 if method in rule.methods else 405)


@pytest.mark.parametrize(
    "rule", [pytest.param(r, id=r.rule) for r in ADMIN_RULES
             if "GET" in r.methods and _staff_may(r, "GET")]
)
def test_staff_see_every_admin_page_without_a_server_error(staff, rule):
    response = staff.get(url_for_rule(rule))

    assert response.status_code in (200, 404)
    if response.status_code == 200 and response.mimetype == "text/html":  # not CSV exports
        assert b'class="admin-nav"' in response.data


@pytest.mark.parametrize(
    "rule", [pytest.param(r, id=r.rule) for r in ADMIN_RULES
             if "GET" in r.methods and _staff_may(r, "GET")]
)
def test_staff_see_every_admin_page_for_existing_records(staff, one_of_everything,
                                                         rule):
    response = staff.get(url_for_rule(rule))

    assert response.status_code in (200, 404)
    if "<int" in rule.rule:
        assert response.status_code == 200


def test_the_admin_only_list_is_read_from_the_decorators():
    """Changing tiers and reading the audit log are admin only; the list is not empty by
    accident (a decorator that stopped marking its view would empty it)."""
    assert {("admin.tiers", "POST"), ("admin.member_grade", "POST"), ("admin.audit", "GET"),
            ("admin.audit_detail", "GET"), ("admin.audit_csv", "GET")} <= ADMIN_ONLY_KEYS
    assert ("admin.tiers", "GET") not in ADMIN_ONLY_KEYS  # staff may look at the table
    assert not {key for key in ADMIN_ONLY_KEYS if key[0] in {
        "admin.orders", "admin.order_status", "admin.books", "admin.book_edit",
        "admin.dashboard"}}, "staff handle orders and stock"


@pytest.mark.parametrize(("rule", "method"),
                         [pytest.param(r, m, id=f"{m} {r.rule}") for r, m in ADMIN_ONLY])
def test_staff_are_refused_every_admin_only_action_with_403(staff, one_of_everything,
                                                            rule, method):
    response = staff.open(url_for_rule(rule), method=method, data={})

    assert response.status_code == 403


@pytest.mark.parametrize(("rule", "method"),
                         [pytest.param(r, m, id=f"{m} {r.rule}") for r, m in ADMIN_ONLY])
def test_an_admin_may_use_every_admin_only_action(admin_client, one_of_everything, rule,
                                                  method):
    response = admin_client.open(url_for_rule(rule), method=method, data={})

    assert response.status_code not in (401, 403)
    assert response.status_code < 500


@pytest.mark.parametrize(
    "rule", [pytest.param(r, id=r.rule) for r in ADMIN_RULES if "GET" in r.methods]
)
def test_an_admin_sees_every_admin_page(admin_client, one_of_everything, rule):
    response = admin_client.get(url_for_rule(rule))

    assert response.status_code in (200, 404)


def test_staff_do_not_see_admin_only_links(staff, admin_client_factory):
    staff_page = staff.get("/admin/").get_data(as_text=True)
    assert 'href="/admin/audit"' not in staff_page

    admin_page = admin_client_factory().get("/admin/").get_data(as_text=True)
    assert 'href="/admin/audit"' in admin_page


def test_an_admins_sidebar_kept_for_the_page_is_not_shown_to_staff(staff,
                                                                    admin_client_factory):
    admin_page = admin_client_factory().get("/admin/").get_data(as_text=True)
    staff_page = staff.get("/admin/").get_data(as_text=True)

    assert 'href="/admin/audit"' in admin_page
    assert 'href="/admin/audit"' not in staff_page


def test_the_sidebar_kept_for_one_language_is_not_shown_in_another(staff):
    english = staff.get("/admin/orders").get_data(as_text=True)
    staff.get("/language/zh_Hans")
    chinese = staff.get("/admin/orders").get_data(as_text=True)

    assert ">Shop admin</h2>" in english
    assert ">Shop admin</h2>" not in chinese
    assert 'href="/admin/orders" aria-current="page"' in chinese


@pytest.fixture
def admin_client_factory(app):
    def build():
        with app.app_context():
            make_admin(email="chief@example.test")
            db.session.commit()
        return logged_in_client(app, "chief@example.test")
    return build


@pytest.mark.parametrize(
    "rule", [pytest.param(r, id=r.rule) for r in ADMIN_RULES
             if "POST" in r.methods and _staff_may(r, "POST")]
)
def test_an_empty_post_from_staff_is_refused_or_handled_never_a_server_error(
    staff, one_of_everything, rule
):
    response = staff.post(url_for_rule(rule), data={})

    assert response.status_code < 500


def test_the_sidebar_marks_the_current_section(staff, one_of_everything):
    response = staff.get("/admin/books/1/edit")

    page = response.get_data(as_text=True)
    assert 'href="/admin/books" aria-current="true"' in page
    assert 'href="/admin/orders" aria-current' not in page


def test_the_sidebar_marks_the_current_page(staff):
    page = staff.get("/admin/orders").get_data(as_text=True)

    assert 'href="/admin/orders" aria-current="page"' in page


@pytest.mark.parametrize("path", ["/admin/books/99999999999999999999/edit",
                                  "/admin/orders/-1", "/admin/mail/0x10"])
def test_absurd_ids_are_not_found(staff, path):
    assert staff.get(path).status_code == 404


@pytest.mark.parametrize("query", ["page=0", "page=-3", "page=abc",
                                   "page=99999999999999999999999", "page=500"])
def test_absurd_page_numbers_are_not_found(staff, query):
    assert staff.get(f"/admin/books?{query}").status_code == 404


# --------------------------------------------------------------------------- CSRF

@pytest.fixture
def csrf_admin_client(app, client):
    """An admin logged in through the real form with CSRF checks switched on."""
    app.config["WTF_CSRF_ENABLED"] = True
    with app.app_context():
        make_admin(email="boss@example.test")
        db.session.commit()
    return log_in(client, "boss@example.test")


@pytest.mark.parametrize(
    "rule", [pytest.param(r, id=r.rule) for r in ADMIN_RULES if "POST" in r.methods]
)
def test_every_admin_form_post_without_its_csrf_token_is_refused(csrf_admin_client,
                                                                 one_of_everything, rule):
    """Every admin POST (not only a sample): without the token the change is refused (400)."""
    response = csrf_admin_client.post(url_for_rule(rule), data={"name": "x", "reason": "x"})

    assert response.status_code == 400


def test_an_admin_form_with_its_csrf_token_goes_through(csrf_admin_client, one_of_everything):
    token = csrf_token(csrf_admin_client, "/admin/categories/new")

    response = csrf_admin_client.post("/admin/categories/new", data={
        "name": "Poetry", "slug": "poetry", "position": "1", "csrf_token": token})

    assert response.status_code == 302
