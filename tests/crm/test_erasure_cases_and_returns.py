"""Erasure leaves nothing personal about the person in their service cases, returns and
refunds: neither in the rows (a rejection's reason, a refund's note and how it was paid back)
nor in the audit entries staff's steps on them wrote (summaries, before and after)."""

from __future__ import annotations

from decimal import Decimal as D

import sqlalchemy as sa

from app.core.extensions import db
from app.crm.erasure import erase_member
from app.models import AuditEntry, Member, Refund, ReturnRequest
from app.returns import requests
from app.returns.refunds import refund_order
from app.support import cases
from app.support.models import CaseSource
from tests.factories import make_admin, make_member, make_staff
from tests.returns.support import paid_order

EMAIL = "victor.victim@example.test"
SECRETS = (EMAIL, "Victor", "Elm Road", "DE89370400440532013000")


def _everything() -> str:
    """Every row of every table, as text."""
    rows = []
    for table in db.metadata.sorted_tables:
        rows.extend(str(tuple(row)) for row in db.session.execute(sa.select(table)))
    return "\n".join(rows)


def test_erasure_scrubs_cases_returns_and_refunds_and_their_audit_entries(ctx):
    admin, staff = make_admin(), make_staff()
    member = make_member(email=EMAIL, name="Victor Victim")
    order = paid_order(member)
    cases.open_case(subject="Victor's parcel at 5 Elm Road", body="Left at the door",
                    member=member, source=CaseSource.STAFF, actor=staff)
    cases.open_case(subject="Victor asks about Elm Road", body="Before joining",
                    visitor_email=EMAIL.upper(), visitor_name="Victor",
                    source=CaseSource.STAFF, actor=staff)
    made = requests.open_return_for(order, staff, {order.lines[0].id: 1}, "damaged",
                                    "left at 5 Elm Road")
    requests.reject(made, staff, "Victor Victim at 5 Elm Road kept it")
    refund = refund_order(order, goodwill=D("5.00"), actor=staff,
                          note="to IBAN DE89370400440532013000")
    db.session.commit()
    before = [e for e in db.session.scalars(sa.select(AuditEntry))
              if any(s in f"{e.summary} {e.before} {e.after}" for s in SECRETS)]
    assert {e.target_type for e in before} >= {"support_case", "return_request", "refund"}

    erase_member(db.session.get(Member, member.id), admin)
    db.session.commit()

    for entry in db.session.scalars(sa.select(AuditEntry)):
        text = f"{entry.summary} {entry.before} {entry.after}"
        assert not any(s in text for s in SECRETS), (entry.action, text)
    everything = _everything()
    assert not any(s in everything for s in SECRETS)
    assert db.session.get(ReturnRequest, made.id).reject_reason == "[erased]"
    kept = db.session.get(Refund, refund.id)
    assert kept.note == "[erased]"
    assert kept.how == "5.00 transferred back to the customer's account"
    assert kept.amount == D("5.00")  # the accounts keep the money
