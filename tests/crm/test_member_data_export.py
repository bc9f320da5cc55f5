"""The subject access export (JSON and CSV) holds everything the shop keeps about the person,
and the schema is read to prove it: a table with a column pointing at a member that the
export neither covers nor leaves out for a stated reason fails this file."""

from __future__ import annotations

import csv
import io
from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
import sqlalchemy as sa

from app.api.models import ApiIdempotentResult, ApiToken
from app.core.extensions import db
from app.crm import customer_admin, customers
from app.crm import tags as customer_tags
from app.crm.member_export import (
    EXPORT_COVERED,
    EXPORT_EXCLUDED,
    PROFILE_EXCLUDED,
    member_data,
    member_data_rows,
)
from app.models import (
    AnalyticsRun,
    AuditEntry,
    Campaign,
    CampaignListMember,
    CampaignRecipient,
    Cart,
    CartLine,
    GradeChange,
    GradeReason,
    Interaction,
    InteractionKind,
    JoinRequest,
    Member,
    MemberSession,
    MemberSignIn,
    MemberSnapshot,
    OrderEvent,
    OrderStatus,
    OutboxMail,
    RecipientGroup,
    ReturnLine,
    ReturnReason,
    ReturnRequest,
    Review,
    SurveyResponse,
)
from tests.factories import make_admin, make_book, make_demand, make_member, make_placed_order

WHEN = datetime(2026, 5, 1, 9, 30, tzinfo=UTC)


def _member_columns() -> set[str]:
    """Every "table.column" that points at a member: a foreign key to member.id, or a column
    named member_id, email or *_email."""
    found = set()
    for table in db.metadata.sorted_tables:
        for column in table.columns:
            points_at_member = any(fk.column.table.name == "member" and fk.column.name == "id"
                                   for fk in column.foreign_keys)
            if (points_at_member or column.name == "member_id" or column.name == "email"
                    or column.name.endswith("_email")):
                found.add(f"{table.name}.{column.name}")
    return found


def test_every_column_pointing_at_a_member_is_exported_or_left_out_for_a_reason(ctx):
    columns = _member_columns()

    unaccounted = columns - set(EXPORT_COVERED) - set(EXPORT_EXCLUDED)
    assert not unaccounted, (
        f"{sorted(unaccounted)} hold data about a member: export them in "
        "member_export.member_data (EXPORT_COVERED) or say why not (EXPORT_EXCLUDED)")
    assert not set(EXPORT_COVERED) & set(EXPORT_EXCLUDED)
    assert (set(EXPORT_COVERED) | set(EXPORT_EXCLUDED)) <= columns  # no stale names
    assert all(len(reason) > 20 for reason in EXPORT_EXCLUDED.values())


def test_the_profile_holds_every_column_of_the_member_row_but_secrets(ctx):
    member = make_member(phone="+86 138 0013 8000")
    db.session.commit()

    profile = member_data(member)["profile"]

    every = {c.name for c in Member.__table__.columns}
    assert set(profile) == every - set(PROFILE_EXCLUDED)
    assert "password_hash" not in profile and "auth_token" not in profile
    assert profile["phone"] == "+86 138 0013 8000"


@pytest.fixture
def rita(ctx) -> Member:
    """A customer with a record of every kind the shop keeps."""
    admin = make_admin()
    rita = make_member(email="rita@example.test", name="Rita Reader", phone="+86 138 0013 8000")
    book = make_book(title="Dune", price=Decimal("12.50"), stock_on_hand=5)
    order = make_placed_order(rita, lines=[(book, 1)], status=OrderStatus.DELIVERED)
    db.session.add(OrderEvent(order_id=order.id, from_status=OrderStatus.PLACED,
                              to_status=OrderStatus.DELIVERED, actor_id=admin.id))
    cart = Cart(member_id=rita.id)
    db.session.add(cart)
    db.session.flush()
    db.session.add(CartLine(cart_id=cart.id, book_id=book.id, quantity=2))
    make_demand(member=rita, book=make_book(title="Emma", stock_on_hand=0), note="gift")
    make_demand(email="RITA@example.test", book=make_book(title="Ulysses", stock_on_hand=0))
    db.session.add(Interaction(member_id=rita.id, staff_id=admin.id,
                               kind=InteractionKind.PHONE, body="Asked about Dune",
                               follow_up_on=date(2026, 5, 3)))
    customer_tags.add_tag(rita, "Teacher", admin)
    db.session.add(Review(member_id=rita.id, book_id=book.id, rating=4, body="Sandy."))
    db.session.add(SurveyResponse(member_id=rita.id, order_id=order.id, score=9,
                                  comment="Quick delivery"))
    db.session.add(GradeChange(member_id=rita.id, from_code="regular", from_name="Regular",
                               to_code="silver", to_name="Silver", at=WHEN,
                               reason=GradeReason.ORDER_PAID, spend=Decimal("500.00")))
    mail = OutboxMail(kind="campaign", to_email="rita@example.test", member_id=rita.id,
                      subject="Spring reads", body_text="Hello Rita", message_id="<m1@t>")
    db.session.add(mail)
    campaign = Campaign(name="Spring", subject="Spring reads", message="Hello",
                        holdout_seed=1, sent_at=WHEN)
    db.session.add(campaign)
    db.session.flush()
    db.session.add(CampaignRecipient(campaign_id=campaign.id, member_id=rita.id,
                                     group=RecipientGroup.MAILED, outbox_id=mail.id))
    run = AnalyticsRun(status="done", as_of=WHEN)
    db.session.add(run)
    db.session.flush()
    db.session.add(MemberSnapshot(run_id=run.id, member_id=rita.id, tier_code="silver",
                                  segment="champions", frequency=3, monetary=Decimal("512.00"),
                                  p_alive=0.87, clv=Decimal("230.40")))
    db.session.add(MemberSession(member_id=rita.id, user_agent="Firefox on Linux"))
    db.session.add(MemberSignIn(member_id=rita.id, way="password", browser="Firefox/Linux",
                                signed_in_at=WHEN))
    db.session.add(CampaignListMember(campaign_id=campaign.id, member_id=rita.id,
                                      added_at=WHEN))
    db.session.add(JoinRequest(email="rita@example.test", name="Rita R.", password_hash="x",
                               member_id=rita.id))
    db.session.add(ReturnRequest(order_id=order.id, member_id=rita.id, opened_by_id=rita.id,
                                 reason=ReturnReason.DAMAGED, details="Torn cover",
                                 lines=[ReturnLine(order_line_id=order.lines[0].id, quantity=1)]))
    customer_admin.update_contact(rita, admin, name="Rita Reader", email="rita@example.test",
                                  phone="+86 138 0013 8001")
    # Issue 20: a case about the order, one opened as a visitor, one waiting for its link.
    from app.support import cases as support_cases
    from app.support.models import CaseType, ContactRequest

    support_cases.open_case(subject="Torn cover", body="The cover is torn.", member=rita,
                            order=order, case_type=CaseType.DAMAGED)
    support_cases.open_case(subject="Gift cards?", body="Do you sell them?",
                            visitor_email="rita@example.test", visitor_name="Rita R.")
    db.session.add(ContactRequest(email="rita@example.test", name="Rita", subject="Hello",
                                  body="Anyone there?", case_type=CaseType.OTHER,
                                  token_hash="0" * 64))

    db.session.add(ApiToken(member_id=rita.id, name="reading app", token_hash="0" * 64,
                            prefix="bst_abcdefgh", scopes="me catalog:read"))
    db.session.add(ApiIdempotentResult(member_id=rita.id, key="k1", endpoint="stock.receive",
                                       request_hash="1" * 64, status_code=201, body="{}"))
    customers.refresh_all_order_stats()
    db.session.commit()
    return rita


def test_every_covered_kind_of_record_is_in_the_json(rita):
    data = member_data(rita)

    for section in set(EXPORT_COVERED.values()):
        assert data[section], f"the {section} section is empty"
    assert {d["title"] for d in data["demands"]} == {"Emma", "Ulysses"}  # also as a visitor
    assert "delivered" in [e["to"] for e in data["orders"][0]["status_history"]]
    assert data["reviews"][0]["rating"] == 4 and data["reviews"][0]["text"] == "Sandy."
    assert data["survey_answers"][0]["score"] == 9
    assert data["grade_history"][0]["to"] == "Silver"
    assert data["interactions"][0]["follow_up_on"] == "2026-05-03"
    assert data["mails"][0]["subject"] == "Spring reads"
    assert data["campaigns"][0] == {"campaign": "Spring", "subject": "Spring reads",
                                    "group": "mailed", "sent_at": WHEN.isoformat()}
    profiling = data["profiling"][0]
    assert (profiling["segment"], profiling["clv"], profiling["p_alive"]) == (
        "champions", "230.40", 0.87)
    assert "customer.update" in [e["action"] for e in data["account_history"]]
    assert data["cart"][0] == {"title": "Dune", "quantity": 2,
                               "added_at": data["cart"][0]["added_at"]}
    assert data["signed_in_sessions"][0]["browser"] == "Firefox on Linux"
    assert data["sign_ins"] == [{"at": WHEN.isoformat(), "way": "password",
                                 "browser": "Firefox/Linux"}]
    assert data["campaign_lists"] == [{"campaign": "Spring", "subject": "Spring reads",
                                       "status": "draft", "added_at": WHEN.isoformat()}]
    assert [(c["subject"], c["messages"][0]["text"]) for c in data["service_cases"]] == [
        ("Torn cover", "The cover is torn."), ("Gift cards?", "Do you sell them?")]
    assert data["contact_requests"][0]["text"] == "Anyone there?"
    assert "key" not in data["signed_in_sessions"][0]
    assert data["join_requests"][0]["name"] == "Rita R."
    assert data["returns"][0]["text"] == "Torn cover"
    assert data["returns"][0]["lines"] == [{"title": "Dune", "quantity": 1, "received": None}]
    assert "password_hash" not in data["join_requests"][0]


def test_the_csv_has_every_section_with_its_values(rita):
    rows = list(member_data_rows(member_data(rita)))
    text = io.StringIO()
    csv.writer(text).writerows(rows)

    sections = {row[0] for row in rows if row}
    assert set(EXPORT_COVERED.values()) - {"tags"} <= sections
    assert ["profile", "tags", "Teacher"] in rows
    assert {"orders.lines", "orders.status_history"} <= sections
    assert ["profile", "phone", "+86 138 0013 8001"] in [[str(c) for c in r] for r in rows]
    profiling_header = next(r for r in rows if r and r[0] == "profiling")
    profiling_row = [r for r in rows if r and r[0] == "profiling"][1]
    assert profiling_row[profiling_header.index("segment")] == "champions"
    assert "Quick delivery" in text.getvalue() and "Asked about Dune" in text.getvalue()


def test_no_audit_entry_is_counted_twice_in_account_history(rita):
    count = db.session.scalar(sa.select(sa.func.count(AuditEntry.id)).where(
        AuditEntry.target_type == "member", AuditEntry.target_id == rita.id))

    assert len(member_data(rita)["account_history"]) == count
