"""Member grades on the web: the member's grade page and the admin's tier pages."""

from __future__ import annotations

import re
from decimal import Decimal

import pytest
import sqlalchemy as sa

from app.core.extensions import db
from app.grades.reading import grade_history
from app.models import GradeChange, Member, OrderStatus, Tier
from app.ordering.orders import change_status
from tests.factories import make_admin, make_member, make_placed_order, make_staff
from tests.pages import csrf_token as _csrf_token
from tests.pages import log_in as _login

D = Decimal


def _pay(member, total: str):
    order = make_placed_order(member, subtotal=D(total), shipping_fee=D("0.00"), total=D(total))
    change_status(order, OrderStatus.PAID)
    return order


@pytest.fixture
def people(app) -> dict[str, int]:
    with app.app_context():
        admin = make_admin(email="boss@example.test", name="Bo Boss")
        staff = make_staff(email="clerk@example.test", name="Clara Clerk")
        rita = make_member(email="rita@example.test", name="Rita Reader")
        _pay(rita, "1975.00")  # Silver, 25.00 short of Gold
        db.session.commit()
        return {"admin": admin.id, "staff": staff.id, "rita": rita.id}


@pytest.fixture
def as_admin(client, people):
    return _login(client, "boss@example.test")


@pytest.fixture
def as_staff(client, people):
    return _login(client, "clerk@example.test")


def _table(app) -> list[tuple]:
    with app.app_context():
        return [(t.code, t.name, t.min_spend, t.discount_rate) for t in
                db.session.scalars(sa.select(Tier).order_by(Tier.position))]


def _grade_changes(app) -> int:
    with app.app_context():
        return db.session.scalar(sa.select(sa.func.count()).select_from(GradeChange))


def _form(rows: list[tuple[str, str, str, str, str]], remove: tuple[int, ...] = ()) -> dict:
    """Form data for the table editor: rows of (code, name, min_spend, discount, perks)."""
    data = {}
    for i, (code, name, spend, discount, perks) in enumerate(rows):
        data.update({f"rows-{i}-code": code, f"rows-{i}-name": name,
                     f"rows-{i}-min_spend": spend, f"rows-{i}-discount": discount,
                     f"rows-{i}-perks": perks})
        if i in remove:
            data[f"rows-{i}-remove"] = "y"
    return data


DEFAULT_TABLE = [("regular", "Regular", D("0.00"), D("0.0000")),
                 ("silver", "Silver", D("500.00"), D("0.0500")),
                 ("gold", "Gold", D("2000.00"), D("0.1000")),
                 ("platinum", "Platinum", D("5000.00"), D("0.1500"))]
DEFAULT_ROWS = [("regular", "Regular", "0", "0", ""), ("silver", "Silver", "500", "5", ""),
                ("gold", "Gold", "2000", "10", ""), ("platinum", "Platinum", "5000", "15", "")]


# --------------------------------------------------------------------------- the member's page


def test_the_grade_page_shows_grade_discount_spend_and_the_way_to_the_next_grade(
        app, client, people):
    _login(client, "rita@example.test")

    page = client.get("/account/grade").get_data(as_text=True)

    assert re.search(r'data-testid="grade-name">Silver<', page)
    assert "5% off the books in every order" in page
    assert re.search(r'data-testid="qualifying-spend">[^<]*1,975\.00', page)
    assert "25.00 more to become Gold and get 10% off" in page
    progress = re.search(r"<progress[^>]*>", page, re.S).group(0)
    assert 'max="100"' in progress and 'value="98"' in progress  # 1,475 of the 1,500 to Gold
    assert 'aria-labelledby="progress-label"' in progress and "aria-valuetext" in progress
    assert "after your member discount, shipping included" in page
    assert page.count('data-testid="grade-change"') == 1
    assert "Regular &rarr; <strong>Silver</strong>" in page
    for name in ("Regular", "Silver", "Gold", "Platinum"):
        assert name in page
    assert 'class="current-tier" aria-current="true"' in page


def test_the_grade_page_is_for_logged_in_members_only(client):
    response = client.get("/account/grade")

    assert response.status_code == 302 and "/account/login" in response.headers["Location"]


def test_the_account_overview_links_to_the_grade_page(app, client, people):
    _login(client, "rita@example.test")

    assert 'href="/account/grade"' in client.get("/account/").get_data(as_text=True)


def test_a_new_member_sees_the_entry_grade_and_an_empty_history(app, client):
    with app.app_context():
        make_member(email="new@example.test")
        db.session.commit()
    _login(client, "new@example.test")

    page = client.get("/account/grade").get_data(as_text=True)

    assert re.search(r'data-testid="grade-name">Regular<', page)
    assert "500.00 more to become Silver" in page
    assert "No changes yet" in page


def test_after_an_upgrade_the_cart_shows_the_new_discount_without_logging_in_again(
        app, client, people):
    from tests.factories import make_book

    with app.app_context():
        book_id = make_book(title="Dune", price=D("100.00"), stock_on_hand=9).id
        db.session.commit()
    _login(client, "rita@example.test")
    client.post("/cart/add", data={"book_id": book_id, "quantity": 1})
    before = client.get("/cart").get_data(as_text=True)

    with app.app_context():  # staff confirm a payment that takes Rita past Gold
        _pay(db.session.get(Member, people["rita"]), "30.00")
        db.session.commit()
    after = client.get("/cart").get_data(as_text=True)

    assert "Member discount (5%)" in before and "5.00" in before
    assert "Member discount (10%)" in after
    assert re.search(r'data-testid="discount">[^<]*10\.00', after)


# --------------------------------------------------------------------------- the admin table


def test_staff_see_the_table_and_the_counts_but_no_editor(as_staff):
    page = as_staff.get("/admin/tiers").get_data(as_text=True)

    assert "Members per grade" in page
    assert re.search(r'data-testid="tier-count-silver">.*?>1 <', page, re.S)
    assert "Only an admin can change the tier table." in page
    assert 'name="rows-0-name"' not in page


def test_staff_cannot_change_the_table(app, as_staff):
    response = as_staff.post("/admin/tiers", data=_form(DEFAULT_ROWS[:2]))

    assert response.status_code == 403
    assert _table(app) == DEFAULT_TABLE


def test_members_cannot_reach_the_tier_pages(app, client, people):
    _login(client, "rita@example.test")

    assert client.get("/admin/tiers").status_code == 403
    assert client.post("/admin/tiers", data=_form(DEFAULT_ROWS)).status_code == 403


def test_the_admin_editor_shows_every_tier_and_blank_rows_for_new_ones(as_admin):
    page = as_admin.get("/admin/tiers").get_data(as_text=True)

    assert page.count('data-testid="tier-row"') == 4 + 2
    assert re.search(r'<input id="rows-1-min_spend"[^>]*value="500.00"', page)
    assert 'for="rows-1-name"' in page  # every input has a label


def test_an_admin_saves_a_new_table_and_every_member_is_regraded(app, as_admin, people):
    rows = [("regular", "Regular", "0", "0", ""), ("silver", "Silver", "500", "5", ""),
            ("", "Gold Star", "1,900", "12.5", "Free gift wrap"),
            ("platinum", "Platinum", "5000", "15", "")]

    response = as_admin.post("/admin/tiers", data=_form(rows))

    assert response.status_code == 302
    assert _table(app) == [
        ("regular", "Regular", D("0.00"), D("0.0000")), ("silver", "Silver", D("500.00"),
                                                         D("0.0500")),
        ("gold-star", "Gold Star", D("1900.00"), D("0.1250")),
        ("platinum", "Platinum", D("5000.00"), D("0.1500"))]
    with app.app_context():
        assert db.session.get(Member, people["rita"]).tier_code == "gold-star"
    page = as_admin.get("/admin/tiers").get_data(as_text=True)
    assert "1 member(s) changed grade (1 up, 0 down)" in page


def test_an_admin_removes_a_tier_and_adds_one(app, as_admin):
    rows = DEFAULT_ROWS + [("diamond", "Diamond", "10000", "20", "")]

    response = as_admin.post("/admin/tiers", data=_form(rows, remove=(3,)))

    assert response.status_code == 302
    assert [row[0] for row in _table(app)] == ["regular", "silver", "gold", "diamond"]


BAD_INPUTS = [
    ("negative", {"rows-1-min_spend": "-5"}, "rows-1-min_spend",
     "Enter an amount from 0 to"),
    ("non-numeric", {"rows-2-min_spend": "two thousand"}, "rows-2-min_spend",
     "Enter a number such as 500 or 499.50."),
    ("discount out of range", {"rows-3-discount": "150"}, "rows-3-discount",
     "Enter a percentage from 0 to 100."),
    ("threshold out of order", {"rows-2-min_spend": "400"}, "rows-2-min_spend",
     "Each threshold must be higher than the one above it"),
    ("discount falling", {"rows-3-discount": "8"}, "rows-3-discount",
     "A higher tier cannot have a smaller discount"),
    ("first not zero", {"rows-0-min_spend": "10"}, "rows-0-min_spend",
     "The first tier must start at 0"),
    ("fractions of a cent", {"rows-1-min_spend": "500.005"}, "rows-1-min_spend",
     "Use at most two decimals"),
    ("duplicate name", {"rows-2-name": "silver"}, "rows-2-name",
     "Another tier is already called silver."),
    ("bad code", {"rows-2-code": "Gold tier!"}, "rows-2-code",
     "Use lowercase letters, digits, - and _"),
    ("missing discount", {"rows-2-discount": ""}, "rows-2-discount",
     "Enter the discount, 0 for none."),
    ("over-long name", {"rows-2-name": "G" * 61}, "rows-2-name",
     "Field cannot be longer than 60 characters."),
]


@pytest.mark.parametrize(("case", "change", "field", "message"), BAD_INPUTS,
                         ids=[c[0] for c in BAD_INPUTS])
def test_a_bad_table_is_refused_with_a_message_beside_the_field_and_nothing_is_saved(
        app, as_admin, case, change, field, message):
    data = _form(DEFAULT_ROWS) | change
    changes_before = _grade_changes(app)

    response = as_admin.post("/admin/tiers", data=data)

    page = response.get_data(as_text=True)
    assert response.status_code == 400
    error = re.search(rf'<p class="error" id="{field}-error">([^<]*)</p>', page)
    assert error is not None and message in error.group(1).replace("&#39;", "'")
    assert re.search(rf'id="{field}"[^>]*aria-invalid="true"', page) or \
        re.search(rf'aria-invalid="true"[^>]*id="{field}"', page)
    typed = change[field]
    assert f'value="{typed}"' in page  # what the admin typed is kept
    assert _table(app) == DEFAULT_TABLE and _grade_changes(app) == changes_before


def test_an_empty_table_is_refused(app, as_admin):
    response = as_admin.post("/admin/tiers", data=_form(DEFAULT_ROWS, remove=(0, 1, 2, 3)))

    assert response.status_code == 400
    assert "The table needs at least one tier." in response.get_data(as_text=True)
    assert _table(app) == DEFAULT_TABLE


@pytest.mark.parametrize("app_config", [{"WTF_CSRF_ENABLED": True}])
def test_the_table_editor_refuses_a_post_without_its_csrf_token(app, as_admin):
    response = as_admin.post("/admin/tiers", data=_form(DEFAULT_ROWS[:1]))

    assert response.status_code == 400
    assert _table(app) == DEFAULT_TABLE


@pytest.mark.parametrize("app_config", [{"WTF_CSRF_ENABLED": True}])
def test_the_table_editor_saves_with_its_csrf_token(app, as_admin):
    data = _form(DEFAULT_ROWS[:2]) | {"csrf_token": _csrf_token(as_admin, "/admin/tiers")}

    assert as_admin.post("/admin/tiers", data=data).status_code == 302
    assert [row[0] for row in _table(app)] == ["regular", "silver"]


# --------------------------------------------------------------------------- lookup


def test_looking_up_a_member_by_number_opens_their_grade_page(app, as_staff, people):
    with app.app_context():
        number = db.session.get(Member, people["rita"]).member_no

    response = as_staff.get(f"/admin/tiers/lookup?q={number.lower()}")

    assert response.status_code == 302
    assert response.headers["Location"].endswith(f"/admin/members/{people['rita']}/grade")


def test_looking_up_by_email_opens_the_grade_page(as_staff, people):
    response = as_staff.get("/admin/tiers/lookup?q=RITA@example.test")

    assert response.headers["Location"].endswith(f"/admin/members/{people['rita']}/grade")


def test_a_partial_lookup_lists_the_matches(as_staff):
    page = as_staff.get("/admin/tiers/lookup?q=example.test").get_data(as_text=True)

    assert "Rita Reader" in page and "Clara Clerk" in page and "Bo Boss" in page


def test_a_lookup_without_a_match_says_so(as_staff):
    response = as_staff.get("/admin/tiers/lookup?q=nobody%25here")

    assert response.status_code == 200
    assert "No member matches “nobody%here”." in response.get_data(as_text=True)


@pytest.mark.parametrize("query", ["", "x" * 255])
def test_an_empty_or_over_long_lookup_is_a_400(as_staff, query):
    assert as_staff.get(f"/admin/tiers/lookup?q={query}").status_code == 400


# --------------------------------------------------------------------------- one member


def test_staff_see_a_members_grade_and_history_but_cannot_set_it(as_staff, people):
    url = f"/admin/members/{people['rita']}/grade"

    page = as_staff.get(url).get_data(as_text=True)
    response = as_staff.post(url, data={"tier": "gold", "reason": "Nice"})

    assert re.search(r'data-testid="member-grade">Silver<', page)
    assert page.count('data-testid="grade-change"') == 1 and "Order paid" in page
    assert "Only an admin can change a member’s grade." in page
    assert response.status_code == 403


def test_an_admin_sets_a_grade_with_a_reason_and_it_is_recorded(app, as_admin, people):
    url = f"/admin/members/{people['rita']}/grade"

    response = as_admin.post(url, data={"tier": "platinum", "reason": "Book club organiser"})

    assert response.status_code == 302
    page = as_admin.get(url).get_data(as_text=True)
    assert "Rita Reader is now Platinum." in page
    assert "Book club organiser" in page and "Bo Boss" in page and "(set by hand)" in page
    with app.app_context():
        member = db.session.get(Member, people["rita"])
        assert (member.tier_code, member.tier_is_manual) == ("platinum", True)


def test_setting_a_grade_without_a_reason_is_refused_and_nothing_changes(app, as_admin, people):
    response = as_admin.post(f"/admin/members/{people['rita']}/grade",
                             data={"tier": "gold", "reason": "  "})

    assert response.status_code == 400
    assert "Please give a reason for the change." in response.get_data(as_text=True)
    with app.app_context():
        assert db.session.get(Member, people["rita"]).tier_code == "silver"


def test_setting_a_grade_that_is_not_in_the_table_is_refused(app, as_admin, people):
    response = as_admin.post(f"/admin/members/{people['rita']}/grade",
                             data={"tier": "diamond", "reason": "Because"})

    assert response.status_code == 400
    with app.app_context():
        assert db.session.get(Member, people["rita"]).tier_code == "silver"


def test_an_admin_ends_a_hand_set_grade(app, as_admin, people):
    url = f"/admin/members/{people['rita']}/grade"
    as_admin.post(url, data={"tier": "platinum", "reason": "Trial"})

    response = as_admin.post(url, data={"tier": "", "reason": "Trial over"})

    assert response.status_code == 302
    with app.app_context():
        member = db.session.get(Member, people["rita"])
        assert (member.tier_code, member.tier_is_manual) == ("silver", False)


@pytest.mark.parametrize("member_id", ["999999", "99999999999999"])
def test_an_unknown_member_is_a_404(as_staff, member_id):
    assert as_staff.get(f"/admin/members/{member_id}/grade").status_code == 404


@pytest.mark.parametrize("app_config", [{"WTF_CSRF_ENABLED": True}])
def test_setting_a_grade_refuses_a_post_without_its_csrf_token(app, as_admin, people):
    response = as_admin.post(f"/admin/members/{people['rita']}/grade",
                             data={"tier": "gold", "reason": "No token"})

    assert response.status_code == 400
    with app.app_context():
        assert db.session.get(Member, people["rita"]).tier_code == "silver"
        assert grade_history(db.session.get(Member, people["rita"]))[0].to_code == "silver"


def test_a_cent_short_of_the_next_grade_both_pages_show_99_not_100_percent(app, client):
    with app.app_context():
        make_staff(email="desk@example.test")
        near = make_member(email="near@example.test")
        _pay(near, "499.99")
        db.session.commit()
        near_id = near.id

    _login(client, "near@example.test")
    own = client.get("/account/grade").get_data(as_text=True)
    client.post("/account/logout")
    _login(client, "desk@example.test")
    record = client.get(f"/admin/customers/{near_id}").get_data(as_text=True)

    for page in (own, record):
        bar = re.search(r"<progress[^>]*>[^<]*</progress>", page, re.S).group(0)
        assert 'value="99"' in bar and ">99%<" in bar
        assert "0.01" in page
