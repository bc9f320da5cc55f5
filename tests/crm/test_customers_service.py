"""Customers (issue 4): finding members, their order figures, notes, tags and staff actions."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
import sqlalchemy as sa

from app.core.errors import InvalidInput
from app.core.extensions import db
from app.crm import customer_admin, customers, erasure, interactions, member_export
from app.crm import tags as customer_tags
from app.crm.customers import CustomerFilters
from app.mail.outbox import enqueue
from app.membership.members import EmailTaken, InvalidEmail, authenticate
from app.models import (
    AuditEntry,
    DemandStatus,
    Interaction,
    MailStatus,
    Member,
    Order,
    OrderStatus,
    OutboxMail,
    Role,
)
from app.ordering.checkout import ShippingAddress, place_order
from app.ordering.orders import change_status
from tests.factories import (
    DEFAULT_PASSWORD,
    make_admin,
    make_book,
    make_demand,
    make_member,
    make_placed_order,
    make_staff,
)

D = Decimal
ADDRESS = ShippingAddress(name="Ada Reader", line1="1 Library Lane", city="Shanghai",
                          postcode="200000", country="China")


def found(query: str = "", **filters) -> list[str]:
    page = customers.list_customers(CustomerFilters(q=query, **filters), per_page=100)
    return [m.name for m in page.items]


@pytest.fixture
def crowd(ctx):
    ada = make_member(name="Ada Lovelace", email="ada@example.test", phone="+44 7700 900123",
                      joined_at=datetime(2025, 1, 10, tzinfo=UTC))
    wang = make_member(name="王小明", email="xiaoming.wang@example.test",
                       phone="+86 138 0013 8000", joined_at=datetime(2025, 6, 1, tzinfo=UTC))
    bo = make_member(name="Bo Li", email="boli@example.test",
                     joined_at=datetime(2026, 2, 1, tzinfo=UTC))
    db.session.commit()
    return {"ada": ada, "wang": wang, "bo": bo}


# --------------------------------------------------------------------------- search


def test_search_finds_a_customer_by_any_part_of_the_name(crowd):
    assert found("lovel") == ["Ada Lovelace"]
    assert found("LOVELACE ada") == ["Ada Lovelace"]
    assert found("小明") == ["王小明"]  # two characters: below the trigram length
    assert found("王小明") == ["王小明"]
    assert found("Bo") == ["Bo Li"]
    make_member(name="Émile Zola")
    assert found("émile") == ["Émile Zola"]
    assert found("ÉMILE Zo") == ["Émile Zola"]


def test_search_finds_a_customer_by_email_member_number_or_phone(crowd):
    assert found("ada@example.test") == ["Ada Lovelace"]
    assert found("xiaoming.w") == ["王小明"]
    assert found(crowd["bo"].member_no.lower()) == ["Bo Li"]
    assert found(str(crowd["bo"].id)) == ["Bo Li"]
    assert found("13800138000") == ["王小明"]
    assert found("8000") == ["王小明"]
    assert found("07700 900123") == ["Ada Lovelace"]  # the trunk 0 instead of +44


def test_search_treats_wildcards_and_operators_as_plain_text(crowd):
    assert found("%") == []
    assert found('"Ada" OR "Bo"') == []
    assert found("a_a") == []


def test_filters_combine_with_the_search(crowd):
    make_demand(member=crowd["bo"])
    customer_tags.add_tag(crowd["ada"], "Teacher", make_staff())
    crowd["wang"].mail_opt_in = False
    db.session.commit()
    assert found(open_demand=True) == ["Bo Li"]
    tag = customer_tags.find_tag("teacher")
    assert found(tag_id=tag.id) == ["Ada Lovelace"]
    assert found(opted_out="news") == ["王小明"]
    assert found(joined_from=date(2025, 1, 1), joined_to=date(2025, 12, 31)) == [
        "Ada Lovelace", "王小明"]
    assert found("a", joined_to=date(2025, 3, 1)) == ["Ada Lovelace"]


def test_sorts_by_spend_and_last_order_put_customers_without_orders_last(crowd):
    make_placed_order(crowd["bo"], placed_at=datetime(2026, 3, 1, tzinfo=UTC),
                      status=OrderStatus.PAID)
    make_placed_order(crowd["wang"], placed_at=datetime(2026, 1, 1, tzinfo=UTC),
                      lines=[(make_book(price=D("99.00")), 2)], status=OrderStatus.SHIPPED)
    # Ada's big order is not paid: it is her last order, but no spend (issue 18)
    make_placed_order(crowd["ada"], placed_at=datetime(2025, 12, 1, tzinfo=UTC),
                      lines=[(make_book(price=D("500.00")), 1)])
    customers.refresh_all_order_stats()
    staff_names = {m.name for m in db.session.scalars(
        sa.select(Member).where(Member.role != Role.MEMBER))}
    assert [n for n in found(sort="last_order") if n not in staff_names] == [
        "Bo Li", "王小明", "Ada Lovelace"]
    assert found(sort="spend")[:2] == ["王小明", "Bo Li"]
    assert found(last_order_from=date(2026, 2, 1)) == ["Bo Li"]


# --------------------------------------------------------------------------- order figures


def test_checkout_counts_an_unpaid_order_but_adds_no_spend(ctx):
    member = make_member()
    book = make_book(price=D("30.00"))
    first = place_order(member, address=ADDRESS, payment_method="bank_transfer",
                        lines=[(book.id, 1)], notify=False)
    second = place_order(member, address=ADDRESS, payment_method="cod",
                         lines=[(book.id, 2)], notify=False)
    db.session.commit()
    assert member.order_count == 2
    assert member.lifetime_spend == D("0.00")  # issue 18: revenue is paid orders only
    assert member.last_order_at == second.placed_at
    change_status(second, OrderStatus.CANCELLED)
    db.session.commit()
    assert (member.order_count, member.lifetime_spend) == (1, D("0.00"))
    assert member.last_order_at == second.placed_at  # it was still their last order
    assert first.status is OrderStatus.PLACED


def test_lifetime_spend_is_the_revenue_of_paid_orders_through_the_life_cycle(ctx):
    member = make_member()
    book = make_book(price=D("30.00"))
    first = place_order(member, address=ADDRESS, payment_method="bank_transfer",
                        lines=[(book.id, 1)], notify=False)
    second = place_order(member, address=ADDRESS, payment_method="bank_transfer",
                         lines=[(book.id, 2)], notify=False)
    db.session.commit()

    change_status(first, OrderStatus.PAID)
    db.session.commit()
    assert (member.order_count, member.lifetime_spend) == (2, first.total)
    change_status(second, OrderStatus.PAID)
    change_status(first, OrderStatus.SHIPPED)
    change_status(first, OrderStatus.DELIVERED)
    db.session.commit()
    assert (member.order_count, member.lifetime_spend) == (2, first.total + second.total)

    change_status(second, OrderStatus.CANCELLED)  # cancelled after payment
    db.session.commit()
    assert (member.order_count, member.lifetime_spend) == (1, first.total)
    revenue = db.session.scalar(sa.select(Order.revenue_sum())
                                .where(Order.member_id == member.id))
    assert member.lifetime_spend == revenue


def test_the_figures_added_at_each_checkout_match_a_recount_of_the_history(ctx):
    member = make_member()
    book = make_book(price=D("12.50"))
    latest = place_order(member, address=ADDRESS, payment_method="cod",
                         lines=[(book.id, 1)], notify=False)
    # an older order loaded afterwards (the seed back-dates history) counts, but the last
    # order stays the latest one
    place_order(member, address=ADDRESS, payment_method="cod", lines=[(book.id, 3)],
                notify=False, placed_at=latest.placed_at - timedelta(days=30))
    # an order placed already paid (a gateway's, some day) adds its revenue at once
    prepaid = make_placed_order(member, total=D("7.25"), status=OrderStatus.PAID,
                                placed_at=latest.placed_at - timedelta(days=60))
    customers.count_new_order(member.id, prepaid.total, prepaid.placed_at,
                              status=prepaid.status)
    db.session.commit()
    added = (member.order_count, member.lifetime_spend, member.last_order_at)

    customers.refresh_order_stats(member.id)
    db.session.commit()

    assert added == (3, D("7.25"), latest.placed_at)
    assert (member.order_count, member.lifetime_spend, member.last_order_at) == added


def test_refresh_all_order_stats_rebuilds_every_member(ctx):
    member = make_member()
    make_placed_order(member, total=D("12.34"))
    make_placed_order(member, total=D("50.00"), status=OrderStatus.CANCELLED)
    make_placed_order(member, total=D("20.00"), status=OrderStatus.PAID)
    make_placed_order(member, total=D("5.50"), status=OrderStatus.DELIVERED)
    customers.refresh_all_order_stats()
    db.session.commit()
    # three orders not cancelled; the spend is the two paid ones' revenue
    assert (member.order_count, member.lifetime_spend) == (3, D("25.50"))


def test_phone_key_follows_the_phone(ctx):
    member = make_member(phone="+86 (21) 5555-0100")
    assert member.phone_key == "862155550100"[::-1]
    member.phone = None
    assert member.phone_key is None


# --------------------------------------------------------------------------- notes and tags


def test_follow_ups_due_lists_open_ones_due_by_the_day_oldest_first(ctx):
    clerk, other = make_staff(), make_staff()
    customer = make_member()
    today = date(2026, 11, 23)
    late = interactions.add_interaction(customer, clerk, "phone", "Call back",
                                        today - timedelta(days=2))
    due = interactions.add_interaction(customer, other, "email", "Send the invoice", today)
    interactions.add_interaction(customer, clerk, "visit", "Later", today + timedelta(days=1))
    interactions.add_interaction(customer, clerk, "compliment", "No follow-up")
    done = interactions.add_interaction(customer, clerk, "complaint", "Done", today)
    interactions.complete_follow_up(done, clerk)
    db.session.commit()
    assert interactions.follow_ups_due(today) == [late, due]
    assert interactions.follow_ups_due(today, staff=clerk) == [late]
    with pytest.raises(interactions.FollowUpClosed):
        interactions.complete_follow_up(done, other)


def test_a_note_needs_text_and_a_known_kind_and_is_audited(ctx):
    clerk, customer = make_staff(), make_member()
    with pytest.raises(InvalidInput):
        interactions.add_interaction(customer, clerk, "phone", "   ")
    with pytest.raises(InvalidInput):
        interactions.add_interaction(customer, clerk, "fax", "Hello")
    interactions.add_interaction(customer, clerk, "phone", "Hello")
    entry = db.session.scalar(sa.select(AuditEntry).where(
        AuditEntry.action == "customer.interaction"))
    assert entry.target_id == customer.id and entry.actor_id == clerk.id


def test_tags_are_one_per_folded_name_and_removing_is_audited(ctx):
    clerk, customer = make_staff(), make_member()
    first = customer_tags.add_tag(customer, "Teacher", clerk)
    again = customer_tags.add_tag(customer, "  teacher ", clerk)
    assert first.id == again.id
    assert [t.name for t in customers.tags_of([customer.id])[customer.id]] == ["Teacher"]
    customer_tags.remove_tag(customer, first.id, clerk)
    assert customers.tags_of([customer.id])[customer.id] == []
    actions = db.session.scalars(sa.select(AuditEntry.action).order_by(AuditEntry.id)).all()
    assert actions == ["customer.tag", "customer.untag"]


# --------------------------------------------------------------------------- staff actions


def test_contact_details_are_validated_unique_and_audited(ctx):
    clerk = make_staff()
    customer = make_member(email="old@example.test")
    make_member(email="taken@example.test")
    with pytest.raises(EmailTaken):
        customer_admin.update_contact(customer, clerk, name="X", email="TAKEN@example.test")
    with pytest.raises(InvalidEmail):
        customer_admin.update_contact(customer, clerk, name="X", email="not an email")
    customer_admin.update_contact(customer, clerk, name="New Name", email="New@Example.test",
                                  phone="+1 555 0100", city="Boston")
    assert (customer.email, customer.phone_key) == ("new@example.test", "15550100"[::-1])
    entry = db.session.scalar(sa.select(AuditEntry).where(AuditEntry.action == "customer.update"))
    assert entry.before["email"] == "old@example.test"
    assert entry.after["email"] == "new@example.test"


def test_staff_cannot_change_the_account_of_staff(ctx):
    clerk, colleague = make_staff(), make_staff()
    with pytest.raises(customer_admin.NotAllowed):
        customer_admin.deactivate(colleague, clerk)
    customer_admin.deactivate(colleague, make_admin())
    assert not colleague.is_active_account


def test_deactivation_refuses_logins_and_rotates_the_session_token(ctx):
    clerk, customer = make_staff(), make_member()
    token = customer.auth_token
    customer_admin.deactivate(customer, clerk)
    assert customer.auth_token != token
    assert authenticate(customer.email, DEFAULT_PASSWORD) is None
    customer_admin.reactivate(customer, clerk)
    assert authenticate(customer.email, DEFAULT_PASSWORD) is not None


def test_password_reset_queues_the_usual_mail(ctx):
    customer = make_member()
    mail = customer_admin.send_password_reset(customer, make_staff())
    assert (mail.kind, mail.to_email, mail.member_id) == (
        "password_reset", customer.email, customer.id)


def test_roles_only_admins_change_them_never_their_own_and_one_admin_remains(ctx):
    boss, clerk, customer = make_admin(), make_staff(), make_member()
    with pytest.raises(customer_admin.NotAllowed):
        customer_admin.change_role(customer, Role.STAFF, clerk)
    with pytest.raises(customer_admin.NotAllowed):
        customer_admin.change_role(boss, Role.STAFF, boss)
    customer_admin.change_role(customer, Role.ADMIN, boss)
    customer_admin.change_role(boss, Role.MEMBER, customer)  # two admins: one may go
    assert boss.role is Role.MEMBER
    db.session.execute(sa.update(Member).where(Member.role == Role.ADMIN,
                                               Member.id != customer.id)
                       .values(role=Role.MEMBER))
    lone = make_admin()
    db.session.execute(sa.update(Member).where(Member.id == lone.id)
                       .values(is_active_account=False))
    db.session.expire_all()
    # `customer` is the only active admin now: `lone` (inactive) cannot demote them ...
    with pytest.raises(customer_admin.NotAllowed):
        customer_admin.change_role(customer, Role.MEMBER, lone)


# --------------------------------------------------------------------------- export, erasure


def test_member_data_holds_profile_orders_demands_and_notes(ctx):
    customer = make_member(name="Ada", phone="123")
    make_placed_order(customer)
    make_demand(member=customer, note="signed copy")
    interactions.add_interaction(customer, make_staff(), "phone", "Called")
    data = member_export.member_data(customer)
    assert data["profile"]["name"] == "Ada"
    assert len(data["orders"]) == 1 and data["orders"][0]["lines"]
    assert data["demands"][0]["note"] == "signed copy"
    assert data["interactions"][0]["text"] == "Called"
    rows = list(member_export.member_data_rows(data))
    assert ["profile", "name", "Ada"] in rows


def test_erasure_anonymises_the_person_and_keeps_the_orders(ctx):
    boss, clerk = make_admin(), make_staff()
    customer = make_member(name="Ada Secret", email="ada.secret@example.test",
                           phone="+44 1", city="London", address_line1="1 Road")
    order = make_placed_order(customer, note="leave at the door")
    total = order.total
    demand = make_demand(member=customer, note="gift")
    enqueue(kind="news", to_email=customer.email, template="password_reset",
            context={"name": "Ada Secret", "reset_url": "x", "forgot_url": "y",
                     "valid_minutes": 5, "shop_name": "B"}, member_id=customer.id)
    interactions.add_interaction(customer, clerk, "phone", "Ada said her address is 1 Road")
    customer_tags.add_tag(customer, "vip", clerk)
    customer_admin.update_contact(customer, clerk, name="Ada Secret",
                                  email="ada.secret@example.test", phone="+44 2")
    erasure.erase_member(customer, boss)
    db.session.commit()

    customer = db.session.get(Member, customer.id)
    assert customer.name == erasure.ERASED_NAME
    assert customer.email == f"erased-{customer.id}@erased.invalid"
    assert (customer.phone, customer.city, customer.address_line1) == (None, None, None)
    assert not customer.is_active_account and customer.erased_at is not None
    assert authenticate(customer.email, DEFAULT_PASSWORD) is None
    order = db.session.get(Order, order.id)
    assert order.total == total and order.lines
    assert order.email == customer.email and order.note is None
    assert "Ada" not in order.ship_name
    assert db.session.get(type(demand), demand.id).status is DemandStatus.CANCELLED
    mail = db.session.scalar(sa.select(OutboxMail).where(OutboxMail.member_id == customer.id))
    assert mail.status is MailStatus.CANCELLED
    assert "Ada" not in mail.body_text and mail.to_email == customer.email
    assert db.session.scalar(sa.select(Interaction.body)) == erasure.ERASED_TEXT
    assert customers.tags_of([customer.id])[customer.id] == []
    for entry in db.session.scalars(sa.select(AuditEntry)):
        assert "secret" not in str(entry.before).lower() + str(entry.after).lower()
    with pytest.raises(customer_admin.AccountErased):
        erasure.erase_member(customer, boss)
    with pytest.raises(customer_admin.AccountErased):
        customer_admin.reactivate(customer, boss)
    with pytest.raises(InvalidInput):
        interactions.add_interaction(customer, clerk, "phone", "New note")
    with pytest.raises(InvalidInput):
        customer_tags.add_tag(customer, "again", clerk)


def test_erasure_is_for_admins_and_customers_only(ctx):
    boss, clerk = make_admin(), make_staff()
    with pytest.raises(customer_admin.NotAllowed):
        erasure.erase_member(make_member(), clerk)
    with pytest.raises(customer_admin.NotAllowed):
        erasure.erase_member(make_staff(), boss)


def test_a_migration_can_backfill_the_customer_columns_on_its_connection(ctx):
    member = make_member()
    make_placed_order(member, total=D("20.00"), status=OrderStatus.PAID)
    db.session.execute(sa.update(Member).where(Member.id == member.id)
                       .values(phone="+86 21 5555 0100", phone_key=None))
    db.session.commit()
    with db.engine.begin() as connection:
        assert customers.backfill_phone_keys(connection=connection) == 1
        customers.refresh_all_order_stats(connection=connection)
    db.session.expire_all()
    assert member.phone_key == "862155550100"[::-1]
    assert (member.order_count, member.lifetime_spend) == (1, D("20.00"))
