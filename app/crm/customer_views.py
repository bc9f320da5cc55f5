"""The customer list for daily work: saved views and bulk actions.

A saved view (CustomerView) is a named set of the list's filters, private to its owner or
shared with the team; it keeps only the filter form's own keys. A bulk action (tag, untag,
give a task, add to a campaign's chosen list) acts on the members ticked on the page, or on
every member the filters select (at most BULK_LIMIT), each change made and audited by its own
service (app.crm.tags, app.crm.interactions, app.campaigns.services), with one summary entry
("customer.bulk"). Erased accounts are skipped. Flushes, never commits.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import date
from urllib.parse import parse_qsl, urlencode

import sqlalchemy as sa
from flask_babel import gettext as _

from app.campaigns import services as campaign_service
from app.campaigns.models import Campaign
from app.core.audit import record as audit
from app.core.db import utcnow
from app.core.errors import InvalidInput, NotFound
from app.core.extensions import db
from app.crm import customers, interactions, tags
from app.crm.models import CustomerView, MemberTag
from app.membership.models import Member, Role

FILTER_KEYS = ("q", "tier", "tag", "segment", "joined_from", "joined_to", "last_order_from",
               "last_order_to", "open_demand", "opted_out", "status", "sort")
NAME_MAX = 80
QUERY_MAX = 1000
BULK_LIMIT = 5000


# --------------------------------------------------------------------------- saved views


def clean_query(args: Mapping[str, str]) -> str:
    """The list's filters from `args` as a query string: the form's keys only, no blanks."""
    return urlencode([(k, str(args[k])) for k in FILTER_KEYS if args.get(k)])


def views_for(staff: Member) -> list[CustomerView]:
    """The staff member's own views and everyone's shared ones, by name."""
    return list(db.session.scalars(
        sa.select(CustomerView).where(sa.or_(CustomerView.owner_id == staff.id,
                                             CustomerView.shared.is_(True)))
        .order_by(CustomerView.name, CustomerView.id)))


def save_view(owner: Member, name: str, args: Mapping[str, str], shared: bool
              ) -> CustomerView:
    name = " ".join((name or "").split())
    if not name:
        raise InvalidInput(_("Give the view a name."))
    if len(name) > NAME_MAX:
        raise InvalidInput(_("The name is too long."))
    query = clean_query(args)
    if len(query) > QUERY_MAX:
        raise InvalidInput(_("These filters are too long to save."))
    view = CustomerView(name=name, owner_id=owner.id, shared=bool(shared), query=query,
                        created_at=utcnow())
    db.session.add(view)
    db.session.flush()
    audit.record(owner.id, owner.email, "customer_view.save", view,
                 after={"name": name, "shared": view.shared, "filters": dict(parse_qsl(query))},
                 summary=f"Customer view {view.id} saved")
    return view


def delete_view(view: CustomerView, actor: Member) -> None:
    """Its owner or an admin deletes a view (audited)."""
    if view.owner_id != actor.id and not actor.has_role(Role.ADMIN):
        raise InvalidInput(_("Only its owner or an admin may delete this view."))
    audit.record(actor.id, actor.email, "customer_view.delete", view,
                 before={"name": view.name, "filters": dict(parse_qsl(view.query))},
                 summary=f"Customer view {view.id} deleted")
    db.session.delete(view)
    db.session.flush()


def view_for(staff: Member, view_id: int) -> CustomerView:
    view = db.session.get(CustomerView, view_id)
    if view is None or (view.owner_id != staff.id and not view.shared):
        raise NotFound(_("There is no such view."))
    return view


def scrub_views(matches) -> int:
    """Erasure: forget saved views whose search names the erased person (`matches(text)`)."""
    count = 0
    for view in db.session.scalars(sa.select(CustomerView)):
        if matches(dict(parse_qsl(view.query)).get("q", "")):
            db.session.delete(view)
            count += 1
    db.session.flush()
    return count


# --------------------------------------------------------------------------- bulk actions


def selected_ids(*, member_ids: Iterable[int] | None = None,
                 filters: customers.CustomerFilters | None = None) -> list[int]:
    """The members a bulk action is for: the ticked ones, or every one the filters select
    (InvalidInput beyond BULK_LIMIT); erased accounts left out."""
    stmt = sa.select(Member.id).where(Member.erased_at.is_(None))
    if member_ids is not None:
        ids = sorted({i for i in member_ids if isinstance(i, int) and 0 < i < 2**31})
        if not ids:
            raise InvalidInput(_("Tick at least one customer, or act on the whole filter."))
        stmt = stmt.where(Member.id.in_(ids))
    elif filters is not None:
        stmt = customers.filtered(stmt, filters)
    else:
        raise InvalidInput(_("Tick at least one customer, or act on the whole filter."))
    found = list(db.session.scalars(stmt.order_by(Member.id).limit(BULK_LIMIT + 1)))
    if len(found) > BULK_LIMIT:
        raise InvalidInput(_("That is more than %(max)d customers: narrow the filters.",
                             max=BULK_LIMIT))
    return found


def _members(ids: list[int]) -> list[Member]:
    return list(db.session.scalars(sa.select(Member).where(Member.id.in_(ids))
                                   .order_by(Member.id))) if ids else []


def _summary(actor: Member, action: str, ids: list[int], scope: dict) -> None:
    audit.record(actor.id, actor.email, "customer.bulk", target_type="member",
                 after={"action": action, "count": len(ids), "member_ids": ids[:1000],
                        "filters": scope},
                 summary=f"Bulk {action} on {len(ids)} customers")


def _tag_name(name: str | None) -> str:
    name = " ".join((name or "").split())
    if not name:
        raise InvalidInput(_("Type the tag."))
    return name


def bulk_tag(actor: Member, ids: list[int], name: str, scope: dict) -> int:
    name = _tag_name(name)
    for member in _members(ids):
        tags.add_tag(member, name, actor)
    _summary(actor, "tag", ids, scope)
    return len(ids)


def bulk_untag(actor: Member, ids: list[int], name: str, scope: dict) -> int:
    name = _tag_name(name)
    tag = tags.find_tag(name)
    if tag is None:
        raise InvalidInput(_("There is no tag “%(name)s”.", name=name))
    having = set(db.session.scalars(sa.select(MemberTag.member_id).where(
        MemberTag.tag_id == tag.id, MemberTag.member_id.in_(ids)))) if ids else set()
    for member in _members(sorted(having)):
        tags.remove_tag(member, tag.id, actor)
    _summary(actor, "untag", sorted(having), scope)
    return len(having)


def bulk_task(actor: Member, ids: list[int], *, body: str, due_on: date,
              assignee_id: int | None, priority: str | None, scope: dict) -> int:
    if not (body or "").strip():
        raise InvalidInput(_("Say what the task is."))
    if due_on is None:
        raise InvalidInput(_("A task needs a due date."))
    for member in _members(ids):
        interactions.add_interaction(member, actor, "other", body, due_on,
                                     assignee_id=assignee_id, priority=priority)
    _summary(actor, "task", ids, scope)
    return len(ids)


def bulk_campaign(actor: Member, ids: list[int], campaign_id: int | None,
                  scope: dict) -> tuple[Campaign, int]:
    """Put the members on a draft campaign's chosen list (app.campaigns.services.add_to_list:
    those already on it stay once; a sent campaign is refused). Returns the campaign and how
    many were added."""
    campaign = db.session.get(Campaign, campaign_id) if campaign_id else None
    added = campaign_service.add_to_list(campaign, actor, ids, scope)
    _summary(actor, "campaign", ids, scope)
    return campaign, added
