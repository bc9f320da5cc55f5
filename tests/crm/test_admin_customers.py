"""The customer pages of the admin panel: list, 360° record, notes, tags, actions."""

from __future__ import annotations

import csv
import io
import json
from datetime import UTC, date, datetime, timedelta

import pytest
import sqlalchemy as sa
from jinja2 import ChoiceLoader, DictLoader

from app.core.db import utcnow
from app.core.extensions import db
from app.crm import customers, interactions
from app.crm import tags as customer_tags
from app.models import AuditEntry, Interaction, Member, OutboxMail, Role
from tests.factories import (
    make_admin,
    make_demand,
    make_member,
    make_placed_order,
    make_staff,
)
from tests.helpers import counting_statements
from tests.pages import log_in, post_login


@pytest.fixture
def people(app) -> dict[str, int]:
    with app.app_context():
        boss = make_admin(email="boss@example.test", name="Bo Boss")
        clerk = make_staff(email="clerk@example.test", name="Clara Clerk")
        rita = make_member(email="rita@example.test", name="Rita Reader",
                           phone="+86 138 0013 8000",
                           joined_at=datetime(2025, 3, 1, tzinfo=UTC))
        make_placed_order(rita)
        make_member(email="=cmd@example.test", name="=HYPERLINK(evil)")
        customers.refresh_all_order_stats()
        db.session.commit()
        return {"boss": boss.id, "clerk": clerk.id, "rita": rita.id}


@pytest.fixture
def as_staff(client, people):
    return log_in(client, "clerk@example.test")


@pytest.fixture
def as_admin(client, people):
    return log_in(client, "boss@example.test")


def _audit_actions(app) -> list[str]:
    with app.app_context():
        return list(db.session.scalars(sa.select(AuditEntry.action).order_by(AuditEntry.id)))


# --------------------------------------------------------------------------- the list


def test_staff_find_a_customer_by_phone_and_open_the_record(as_staff, people):
    page = as_staff.get("/admin/customers?q=0013+8000").get_data(as_text=True)
    assert "Rita Reader" in page and "1 customer" in page
    record = as_staff.get(f"/admin/customers/{people['rita']}")
    assert record.status_code == 200
    text = record.get_data(as_text=True)
    assert "rita@example.test" in text and "BS-" in text
    assert f"/admin/members/{people['rita']}/grade" in text  # grade page, not a copy of it


def test_bad_filters_answer_400_with_the_message_beside_the_field(as_staff):
    response = as_staff.get("/admin/customers?joined_from=2026-02-01&joined_to=2026-01-01")
    assert response.status_code == 400
    assert "The end date is before the start date." in response.get_data(as_text=True)
    assert as_staff.get("/admin/customers?sort=nope").status_code == 400


def test_the_customer_csv_follows_the_filters_and_neutralises_formulas(as_admin):
    response = as_admin.get("/admin/customers.csv?sort=name")
    assert response.status_code == 200 and response.mimetype == "text/csv"
    rows = list(csv.reader(io.StringIO(response.get_data(as_text=True).lstrip("\ufeff"))))
    assert rows[0][:3] == ["member_no", "name", "email"]
    names = [row[1] for row in rows[1:]]
    assert "Rita Reader" in names and "'=HYPERLINK(evil)" in names
    only = as_admin.get("/admin/customers.csv?q=rita%40").get_data(as_text=True)
    assert len(list(csv.reader(io.StringIO(only)))) == 2


def test_the_list_runs_a_fixed_number_of_queries(app, as_staff):
    with app.app_context():
        for n in range(30):
            customer_tags.add_tag(make_member(), f"tag {n % 3}", db.session.get(Member, 2))
        db.session.commit()
    as_staff.get("/admin/customers")  # warm the shop's cached menus
    with counting_statements(app) as statements:
        assert as_staff.get("/admin/customers").status_code == 200
    # 7, the saved views, the staff, the draft campaigns for chosen customers (issue 21)
    assert len(statements) <= 10, statements


# --------------------------------------------------------------------------- the record


def _busy_customer(app, people, orders: int) -> int:
    with app.app_context():
        clerk = db.session.get(Member, people["clerk"])
        member = make_member()
        for _ in range(orders):
            make_placed_order(member)
            make_demand(member=member)
            interactions.add_interaction(member, clerk, "phone", "Hello",
                                         utcnow().date())
            customer_tags.add_tag(member, f"t{_}", clerk)
            db.session.add(OutboxMail(kind="x", to_email=member.email, member_id=member.id,
                                      subject="s", body_text="b", message_id=f"<{_}@x>"))
        db.session.commit()
        return member.id


def test_the_record_runs_the_same_few_queries_however_much_there_is(app, as_staff, people):
    small = _busy_customer(app, people, 1)
    large = _busy_customer(app, people, 6)
    as_staff.get(f"/admin/customers/{small}")  # warm the shop's cached menus
    counts = []
    for member_id in (small, large):
        with counting_statements(app) as statements:
            assert as_staff.get(f"/admin/customers/{member_id}").status_code == 200
        counts.append(len(statements))
    # 20: the reader and the member, the record's own tables (orders, demands, mail, tags,
    # notes), the grade (spend, tiers, changes), the analytics and feedback panels (three),
    # returns and refunds (two), service cases (two), the story (its count and its page) and
    # the staff who may be given a task (one)
    assert counts[0] == counts[1] <= 20, counts


def test_the_record_shows_mails_demands_notes_and_registered_panels(app, as_staff, people):
    app.jinja_env.loader = ChoiceLoader([
        DictLoader({"test/panel.html": "<p>{{ greeting }}</p>"}), app.jinja_env.loader])
    customers.register_customer_panel(
        "test-panel", "Reviews and feedback (test)", "test/panel.html",
        lambda member: {"greeting": f"feedback of {member.name}"}, order=999)
    try:
        member_id = _busy_customer(app, people, 2)
        text = as_staff.get(f"/admin/customers/{member_id}").get_data(as_text=True)
    finally:
        customers._PANELS[:] = [p for p in customers._PANELS if p.key != "test-panel"]
    assert text.count('data-testid="customer-mail"') == 2
    assert text.count('data-testid="customer-demand"') == 2
    assert text.count('data-testid="interaction"') == 2
    assert "/admin/mail/" in text
    assert "Reviews and feedback (test)" in text and "feedback of Member" in text


# --------------------------------------------------------------------------- notes and tags


def test_staff_log_a_call_with_a_follow_up_and_mark_it_done(app, as_staff, people):
    due = utcnow().date().isoformat()
    response = as_staff.post(f"/admin/customers/{people['rita']}/interactions",
                             data={"kind": "phone", "body": "Wants the next Three-Body",
                                   "follow_up_on": due})
    assert response.status_code == 302
    mine = as_staff.get("/admin/follow-ups").get_data(as_text=True)
    assert "Wants the next Three-Body" in mine and "Rita Reader" in mine
    with app.app_context():
        note = db.session.scalar(sa.select(Interaction))
        assert interactions.follow_ups_due(utcnow().date()) == [note]
        note_id = note.id
    response = as_staff.post(
        f"/admin/customers/{people['rita']}/interactions/{note_id}/done",
        data={"next": "follow_ups"})
    assert response.status_code == 302
    assert 'data-testid="nothing-due"' in as_staff.get("/admin/follow-ups").get_data(
        as_text=True)
    assert _audit_actions(app) == ["customer.interaction", "customer.follow_up_done"]


def test_a_second_done_click_is_sent_back_where_it_came_from(app, as_staff, people):
    as_staff.post(f"/admin/customers/{people['rita']}/interactions",
                  data={"kind": "phone", "body": "Call back", "follow_up_on": "2030-01-01"})
    with app.app_context():
        note_id = db.session.scalar(sa.select(Interaction.id))
    done = f"/admin/customers/{people['rita']}/interactions/{note_id}/done"
    assert as_staff.post(done, data={"next": "follow_ups"}).status_code == 302
    again = as_staff.post(done, data={"next": "follow_ups"})
    assert again.status_code == 303 and again.location.endswith("/admin/follow-ups")
    back = as_staff.post(done)
    assert back.status_code == 303
    assert back.location.endswith(f"/admin/customers/{people['rita']}#interactions")
    assert "This follow-up was already marked done." in as_staff.get(
        "/admin/follow-ups").get_data(as_text=True)
    assert _audit_actions(app) == ["customer.interaction", "customer.follow_up_done"]


def test_an_empty_note_keeps_what_was_typed_and_answers_400(as_staff, people):
    response = as_staff.post(f"/admin/customers/{people['rita']}/interactions",
                             data={"kind": "visit", "body": " ", "follow_up_on": "2026-13-40"})
    assert response.status_code == 400
    text = response.get_data(as_text=True)
    assert "Write what was said or done." in text
    assert 'value="visit" selected' in text or 'selected value="visit"' in text


def test_tags_are_added_removed_and_filter_the_list(app, as_staff, people):
    assert as_staff.post(f"/admin/customers/{people['rita']}/tags",
                         data={"name": "Teacher"}).status_code == 302
    with app.app_context():
        tag = customer_tags.find_tag("teacher")
        tag_id = tag.id
    listed = as_staff.get(f"/admin/customers?tag={tag_id}").get_data(as_text=True)
    assert "Rita Reader" in listed and "1 customer" in listed
    assert as_staff.post(f"/admin/customers/{people['rita']}/tags/{tag_id}/remove"
                         ).status_code == 302
    assert "No customers match." in as_staff.get(f"/admin/customers?tag={tag_id}").get_data(
        as_text=True)
    assert as_staff.post(f"/admin/customers/{people['rita']}/tags",
                         data={"name": "x" * 41}).status_code == 400


# --------------------------------------------------------------------------- staff actions


def test_staff_edit_contact_details_and_a_taken_email_is_refused(app, as_staff, people):
    url = f"/admin/customers/{people['rita']}/edit"
    assert as_staff.get(url).status_code == 200
    taken = as_staff.post(url, data={"name": "Rita R", "email": "boss@example.test"})
    assert taken.status_code == 400
    assert "Another account already uses that email address." in taken.get_data(as_text=True)
    assert 'value="Rita R"' in taken.get_data(as_text=True)
    saved = as_staff.post(url, data={"name": "Rita R", "email": "Rita.New@example.test",
                                     "phone": "555 0199", "city": "Suzhou"})
    assert saved.status_code == 302
    with app.app_context():
        rita = db.session.get(Member, people["rita"])
        assert (rita.name, rita.email, rita.city) == ("Rita R", "rita.new@example.test",
                                                      "Suzhou")
    assert "customer.update" in _audit_actions(app)


def test_an_email_taken_between_the_check_and_the_save_is_refused_on_a_usable_page(
        app, as_staff, people, monkeypatch):
    """The database's unique index refuses the address another account took a moment after
    the check: the same 400 page with the message, nothing saved, no error page."""
    from app.membership import members as member_rules

    monkeypatch.setattr(member_rules, "find_by_email", lambda email: None)  # the check misses
    url = f"/admin/customers/{people['rita']}/edit"

    taken = as_staff.post(url, data={"name": "Rita R", "email": "boss@example.test"})

    assert taken.status_code == 400
    assert "Another account already uses that email address." in taken.get_data(as_text=True)
    with app.app_context():
        rita = db.session.get(Member, people["rita"])
        assert (rita.name, rita.email) == ("Rita Reader", "rita@example.test")


def test_deactivating_ends_the_customers_sessions_and_refuses_login(app, people):
    customer_client, staff_client = app.test_client(), app.test_client()
    log_in(customer_client, "rita@example.test")
    assert customer_client.get("/account/").status_code == 200
    log_in(staff_client, "clerk@example.test")
    assert staff_client.post(f"/admin/customers/{people['rita']}/deactivate").status_code == 302
    assert customer_client.get("/account/").status_code == 302  # logged out
    refused = post_login(customer_client, "rita@example.test")
    assert refused.status_code != 302
    assert staff_client.post(f"/admin/customers/{people['rita']}/reactivate").status_code == 302
    log_in(customer_client, "rita@example.test")


def test_staff_send_a_password_reset_link(app, as_staff, people):
    assert as_staff.post(f"/admin/customers/{people['rita']}/password-reset"
                         ).status_code == 302
    with app.app_context():
        mail = db.session.scalar(sa.select(OutboxMail).where(OutboxMail.kind == "password_reset"))
        assert mail.to_email == "rita@example.test"
    assert "customer.password_reset" in _audit_actions(app)


def test_staff_cannot_change_roles_export_or_erase(as_staff, people):
    rita = people["rita"]
    assert as_staff.post(f"/admin/customers/{rita}/role", data={"role": "admin"}
                         ).status_code == 403
    assert as_staff.get(f"/admin/customers/{rita}/export.json").status_code == 403
    assert as_staff.get(f"/admin/customers/{rita}/erase").status_code == 403
    assert as_staff.post(f"/admin/customers/{people['boss']}/deactivate").status_code == 303


def test_an_admin_changes_a_role_but_not_their_own(app, as_admin, people):
    assert as_admin.post(f"/admin/customers/{people['rita']}/role",
                         data={"role": "staff"}).status_code == 302
    mine = as_admin.post(f"/admin/customers/{people['boss']}/role", data={"role": "member"},
                         follow_redirects=True)
    assert "You cannot change your own role" in mine.get_data(as_text=True)
    with app.app_context():
        assert db.session.get(Member, people["rita"]).role is Role.STAFF
        assert db.session.get(Member, people["boss"]).role is Role.ADMIN
        entry = db.session.scalar(sa.select(AuditEntry).where(AuditEntry.action ==
                                                              "customer.role"))
        assert (entry.before, entry.after) == ({"role": "member"}, {"role": "staff"})


def test_an_admin_exports_a_members_data_as_json_and_csv(as_admin, people):
    data = json.loads(as_admin.get(f"/admin/customers/{people['rita']}/export.json").data)
    assert data["profile"]["email"] == "rita@example.test" and len(data["orders"]) == 1
    text = as_admin.get(f"/admin/customers/{people['rita']}/export.csv").get_data(as_text=True)
    assert "rita@example.test" in text and "orders" in text


def test_erasure_needs_the_member_number_and_then_anonymises(app, as_admin, people):
    url = f"/admin/customers/{people['rita']}/erase"
    assert as_admin.get(url).status_code == 200
    wrong = as_admin.post(url, data={"confirm": "M1999-000001", "understood": "y"})
    assert wrong.status_code == 400
    assert "That is not this member's number." in wrong.get_data(as_text=True)
    with app.app_context():
        number = db.session.get(Member, people["rita"]).member_no
    assert as_admin.post(url, data={"confirm": number.lower(), "understood": "y"}
                         ).status_code == 302
    with app.app_context():
        rita = db.session.get(Member, people["rita"])
        assert rita.erased_at is not None and rita.email.endswith("@erased.invalid")
    assert "Rita Reader" not in as_admin.get("/admin/customers").get_data(as_text=True)
    assert "customer.erase" in _audit_actions(app)


def test_follow_ups_due_includes_overdue_ones_but_not_future_ones(app, people):
    with app.app_context():
        clerk = db.session.get(Member, people["clerk"])
        rita = db.session.get(Member, people["rita"])
        today = date(2026, 11, 23)
        old = interactions.add_interaction(rita, clerk, "email", "a", today - timedelta(days=9))
        interactions.add_interaction(rita, clerk, "email", "b", today + timedelta(days=1))
        assert interactions.follow_ups_due(today) == [old]


def test_the_list_filters_by_analysis_segment_and_refuses_an_unknown_one(as_staff, people):
    page = as_staff.get("/admin/customers?segment=champions")
    assert page.status_code == 200 and 'name="segment"' in page.get_data(as_text=True)
    assert as_staff.get("/admin/customers?segment=nonsense").status_code == 400


# --------------------------------------------------------------------------- the figures


def test_list_record_and_csv_show_the_paid_revenue_as_lifetime_spend(app, as_admin):
    """Issue 18: "Lifetime spend" is revenue by the one definition (paid orders, after the
    member discount), kept by checkout and the order's life cycle, not by a recount."""
    from decimal import Decimal

    from app.models import OrderStatus
    from app.ordering.checkout import ShippingAddress, place_order
    from app.ordering.orders import change_status
    from tests.factories import make_book

    address = ShippingAddress(name="Pat Payer", line1="2 Till Road", city="Shanghai",
                              postcode="200000", country="China")
    with app.app_context():
        pat = make_member(email="pat@example.test", name="Pat Payer")
        paid = place_order(pat, address=address, payment_method="bank_transfer",
                           lines=[(make_book(price=Decimal("31.25")).id, 1)], notify=False)
        place_order(pat, address=address, payment_method="cod",
                    lines=[(make_book(price=Decimal("777.00")).id, 1)], notify=False)
        db.session.commit()
        change_status(paid, OrderStatus.PAID)
        db.session.commit()
        pat_id, revenue = pat.id, paid.total
    assert revenue == Decimal("41.25")  # 31.25 and the shipping fee

    listed = as_admin.get("/admin/customers?q=pat%40&sort=spend").get_data(as_text=True)
    row = listed[listed.index('data-testid="customer-row"'):]
    assert "41.25" in row and "787.00" not in row and "818.25" not in row
    assert "Orders not cancelled" in listed

    record = as_admin.get(f"/admin/customers/{pat_id}").get_data(as_text=True)
    assert 'data-testid="lifetime-spend">CN¥41.25<' in record
    assert 'data-testid="order-count">2<' in record and "Orders not cancelled" in record

    rows = list(csv.reader(io.StringIO(as_admin.get("/admin/customers.csv?sort=spend")
                                       .get_data(as_text=True).lstrip("\ufeff"))))
    header = rows[0]
    pat_row = next(r for r in rows[1:] if r[header.index("email")] == "pat@example.test")
    assert pat_row[header.index("lifetime_spend")] == "41.25"
    assert pat_row[header.index("order_count")] == "2"
    assert rows[1][header.index("email")] == "pat@example.test"  # the highest spend first


def test_the_record_says_how_many_orders_there_are_cancelled_ones_included(app, as_staff):
    """The record lists every order, cancelled ones too: "the latest 20 of N" counts them all,
    not the orders-not-cancelled figure (19 here, which would hide the note)."""
    from app.models import OrderStatus

    with app.app_context():
        member = make_member()
        for n in range(customers.RECORD_ORDERS + 1):
            make_placed_order(member, status=OrderStatus.CANCELLED if n < 2 else
                              OrderStatus.PLACED)
        customers.refresh_all_order_stats()
        db.session.commit()
        member_id = member.id
    text = as_staff.get(f"/admin/customers/{member_id}").get_data(as_text=True)
    assert text.count('data-testid="customer-order"') == customers.RECORD_ORDERS
    assert 'data-testid="order-count">19<' in text
    assert "The latest 20 of 21 orders." in text
