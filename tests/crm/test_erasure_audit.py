"""Erasure scrubs the person's personal text from the audit log: the notes staff wrote about
them, their tags, reasons and notes typed about their orders, reviews and mails, and their
address; the log still says who did what to whom, and when."""

from __future__ import annotations

import sqlalchemy as sa

from app.core.audit import record as audit
from app.core.extensions import db
from app.crm import customer_admin, erasure, interactions
from app.crm import tags as customer_tags
from app.feedback import reviews
from app.mail.mail_log import retry_failed
from app.mail.outbox import enqueue
from app.models import AuditEntry, JoinRequest, MailStatus, MemberSession, OutboxMail, Review
from tests.factories import make_admin, make_book, make_member, make_placed_order, make_staff

SECRETS = ("Ada", "1 Road", "vegan-cookbooks", "her sister", "ada.secret", "Sandy")


def _entries() -> list[AuditEntry]:
    return list(db.session.scalars(sa.select(AuditEntry).order_by(AuditEntry.id)))


def _text(entry: AuditEntry) -> str:
    return f"{entry.actor_label} {entry.summary} {entry.before} {entry.after}"


def test_erasure_scrubs_notes_tags_and_typed_text_about_the_person_from_the_audit_log(ctx):
    boss, clerk = make_admin(email="boss@example.test"), make_staff(email="clerk@example.test")
    ada = make_member(name="Ada Secret", email="ada.secret@example.test", phone="+44 1")
    other = make_member(name="Bea Other", email="bea@example.test")
    order = make_placed_order(ada)
    interactions.add_interaction(ada, clerk, "phone", "Ada said her address is 1 Road")
    customer_tags.add_tag(ada, "vegan-cookbooks", clerk)
    customer_tags.add_tag(other, "vegan-cookbooks", clerk)
    audit.record(clerk.id, clerk.email, "order.status", order, before={"status": "placed"},
                 after={"status": "shipped"},
                 summary=f"{order.number}: placed → shipped (leave with her sister)")
    review = Review(member_id=ada.id, book_id=make_book().id, rating=2, body="Sandy")
    db.session.add(review)
    db.session.flush()
    reviews.moderate(review, clerk, False, "Ada mentions her sister by name")
    mail = enqueue(kind="news", to_email=ada.email, template="password_reset",
                   context={"name": "Ada", "reset_url": "x", "forgot_url": "y",
                            "valid_minutes": 5, "shop_name": "B"}, member_id=ada.id)
    audit.record(clerk.id, clerk.email, "mail.resend", mail, summary=f"news to {ada.email}")
    customer_admin.update_contact(ada, clerk, name="Ada Secret",
                                  email="ada.secret@example.test", phone="+44 2",
                                  address_line1="1 Road")
    db.session.commit()
    before = [(e.id, e.at, e.actor_id, e.action, e.target_type, e.target_id)
              for e in _entries()]
    about_ada = [e for e in _entries() if any(s in _text(e) for s in SECRETS)]
    assert len(about_ada) >= 6  # the notes, tag, order, review, mail and contact entries

    erasure.erase_member(ada, boss)
    db.session.commit()

    entries = _entries()
    # Who did what to which record, and when, is kept for every entry ...
    assert [(e.id, e.at, e.actor_id, e.action, e.target_type, e.target_id)
            for e in entries[:len(before)]] == before
    assert entries[-1].action == "customer.erase"
    # ... and no text about Ada survives in any of them.
    for entry in entries:
        if entry.target_type == "member" and entry.target_id == other.id:
            continue
        for secret in SECRETS:
            assert secret not in _text(entry), (entry.action, _text(entry))
    # Bea's entries are untouched: her tag is still named in the log.
    bea = [e for e in entries if e.target_type == "member" and e.target_id == other.id]
    assert "vegan-cookbooks" in _text(bea[0])
    # Non-personal values stay readable.
    status = next(e for e in entries if e.action == "order.status")
    assert (status.before, status.after) == ({"status": "placed"}, {"status": "shipped"})


def test_erasure_scrubs_a_customer_list_search_for_the_person(ctx):
    boss = make_admin()
    ada = make_member(name="Ada Secret", email="ada.secret@example.test")
    customer_admin.record_list_export(boss, {"q": "ada.secret@"}, 1)
    customer_admin.record_list_export(boss, {"q": "bea", "sort": "name"}, 4)
    db.session.commit()

    erasure.erase_member(ada, boss)
    db.session.commit()

    exports = db.session.scalars(sa.select(AuditEntry).where(
        AuditEntry.action == "customer.list_export").order_by(AuditEntry.id)).all()
    assert [e.after for e in exports] == [
        {"filters": {"q": erasure.ERASED_TEXT}, "rows": 1},
        {"filters": {"q": "bea", "sort": "name"}, "rows": 4}]


def test_erasure_removes_requests_to_join_with_the_address_and_the_signed_in_sessions(ctx):
    """A join request keeps the name and address someone typed; erasure leaves none of it."""
    boss = make_admin(email="boss@example.test")
    ada = make_member(name="Ada Secret", email="ada.secret@example.test")
    db.session.add_all([
        JoinRequest(email="Ada.Secret@example.test", name="Ada S.", password_hash="x",
                    member_id=ada.id),
        JoinRequest(email="ada.secret@example.test", name="Ada Secret", password_hash="y"),
        JoinRequest(email="someone@example.test", name="Someone", password_hash="z"),
        MemberSession(member_id=ada.id, user_agent="Firefox on Linux"),
    ])
    db.session.commit()

    erasure.erase_member(ada, boss)
    db.session.commit()

    assert db.session.scalars(sa.select(JoinRequest.name)).all() == ["Someone"]
    assert db.session.scalar(sa.select(sa.func.count(MemberSession.id))) == 0


def test_erasure_scrubs_any_search_staff_typed_for_the_person_whatever_the_action(ctx):
    boss, clerk = make_admin(), make_staff(email="clerk@example.test")
    ada = make_member(name="Ada Secret", email="ada.secret@example.test",
                      phone="+86 138 0013 8000")
    audit.record(clerk.id, clerk.email, "mail.retry_failed", target_type="outbox_mail",
                 after={"count": 2, "filter": {"q": "ADA.secret@example", "status": "failed"}},
                 summary="2 failed mail(s) queued again")
    customer_admin.record_orders_export(boss, {"q": "138 0013 8000", "status": "paid"}, 3)
    customer_admin.record_orders_export(boss, {"q": "Ada Secret"}, 1)
    audit.record(boss.id, boss.email, "some.future_report", target_type="report",
                 after={"search": "secret@example.test", "rows": 1})
    customer_admin.record_orders_export(boss, {"q": "bea", "status": "paid"}, 4)
    db.session.commit()

    erasure.erase_member(ada, boss)
    db.session.commit()

    def after(action: str) -> list[dict]:
        return [e.after for e in db.session.scalars(sa.select(AuditEntry).where(
            AuditEntry.action == action).order_by(AuditEntry.id))]

    erased = erasure.ERASED_TEXT
    assert after("mail.retry_failed") == [
        {"count": 2, "filter": {"q": erased, "status": "failed"}}]
    assert after("order.list_export") == [
        {"filters": {"q": erased, "status": "paid"}, "rows": 3},
        {"filters": {"q": erased}, "rows": 1},
        {"filters": {"q": "bea", "status": "paid"}, "rows": 4}]
    assert after("some.future_report") == [{"search": erased, "rows": 1}]


def test_erasure_cancels_the_persons_failed_mail_so_a_bulk_retry_cannot_send_it(ctx):
    boss = make_admin()
    ada = make_member(name="Ada Secret", email="ada.secret@example.test")
    failed = _mail(ada.email, ada.id)
    failed.status = MailStatus.FAILED
    other = _mail("bea@example.test")
    other.status = MailStatus.FAILED
    db.session.commit()

    erasure.erase_member(ada, boss)
    db.session.commit()

    assert db.session.get(OutboxMail, failed.id).status is MailStatus.CANCELLED
    assert retry_failed() == 1  # Bea's only
    db.session.commit()
    assert db.session.get(OutboxMail, failed.id).status is MailStatus.CANCELLED


def test_a_bulk_retry_never_queues_mail_to_an_erased_address(ctx):
    """Mail an earlier erasure left failed (before erasure cancelled it) stays failed."""
    left = _mail("erased-41@erased.invalid")
    left.status = MailStatus.FAILED
    db.session.commit()

    assert retry_failed(OutboxMail.kind == "news") == 0
    db.session.commit()

    assert db.session.get(OutboxMail, left.id).status is MailStatus.FAILED


def _mail(to: str, member_id: int | None = None) -> OutboxMail:
    return enqueue(kind="news", to_email=to, template="password_reset",
                   context={"name": "Ada", "reset_url": "x", "forgot_url": "y",
                            "valid_minutes": 5, "shop_name": "B"}, member_id=member_id)
