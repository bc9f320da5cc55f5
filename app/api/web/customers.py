"""Customers for staff: the list and its search (customers:read), a customer's record, tags
and notes; adding and removing tags and adding notes (customers:write), through the CRM's own
services, audited under the token's owner. Erasure stays in the admin pages."""

from __future__ import annotations

from flask_babel import gettext as _
from flask_smorest import abort

from app.admin.common import ID
from app.api.auth import current_owner
from app.api.web import ApiBlueprint
from app.api.web import schemas as s
from app.api.web.orders import order_out
from app.api.web.paging import envelope
from app.core.extensions import db
from app.crm import customers as crm
from app.crm import interactions, tags
from app.membership.models import Member

PATH = "/customers"
blp = ApiBlueprint("api_customers", __name__,
                   description="Customers (staff scopes customers:read/write)")


def _member(member_id: int) -> Member:
    member = db.session.get(Member, member_id)
    if member is None:
        abort(404, message=_("There is no such customer."))
    return member


def customer_out(member: Member) -> dict:
    return {"id": member.id, "member_no": member.member_no, "name": member.name,
            "email": member.email, "joined_at": member.joined_at, "grade": member.tier_code,
            "order_count": member.order_count or 0,
            "lifetime_spend": member.lifetime_spend or 0,
            "last_order_at": member.last_order_at, "is_active": member.is_active_account}


def note_out(note) -> dict:
    return {"id": note.id, "kind": note.kind.value, "body": note.body,
            "created_at": note.created_at, "staff_id": note.staff_id,
            "follow_up_on": note.follow_up_on, "follow_up_done_at": note.follow_up_done_at}


@blp.route("")
@blp.scoped("customers:read")
@blp.etag
@blp.arguments(s.CustomerQuery, location="query", as_kwargs=True)
@blp.response(200, s.CustomerPage)
def list_customers(page, per_page, sort, q=None, tier=None, tag_id=None):
    """Customers: searched (name, email, phone, member number), by grade or tag."""
    filters = crm.CustomerFilters(q=q or "", tier=tier or "", tag_id=tag_id, sort=sort)
    result = crm.list_customers(filters, page=page, per_page=per_page)
    return envelope(result, [customer_out(m) for m in result.items])


@blp.route(f"/<{ID}:member_id>")
@blp.scoped("customers:read")
@blp.etag
@blp.response(200, s.CustomerRecordSchema)
def get_customer(member_id):
    """A customer's record: contact, figures, tags, latest notes and orders."""
    record = crm.customer_record(_member(member_id))
    member = record.member
    return {**customer_out(member), "phone": member.phone,
            "tags": [{"id": t.id, "name": t.name} for t in record.tags],
            "notes": [note_out(n) for n in record.interactions],
            "orders": [order_out(o) for o in record.orders],
            "order_total": record.order_total}


@blp.route(f"/<{ID}:member_id>/tags")
@blp.scoped("customers:read")
@blp.etag
@blp.response(200, s.TagList)
def list_tags(member_id):
    """The customer's tags."""
    member = _member(member_id)
    return {"items": [{"id": t.id, "name": t.name}
                      for t in crm.tags_of([member.id])[member.id]]}


@blp.route(f"/<{ID}:member_id>/tags", methods=["POST"])
@blp.scoped("customers:write")
@blp.arguments(s.TagIn, as_kwargs=True)
@blp.response(200, s.TagSchema)
def add_tag(member_id, name):
    """Put a tag on the customer (made when new; already there is not an error)."""
    tag = tags.add_tag(_member(member_id), name, current_owner())
    return {"id": tag.id, "name": tag.name}


@blp.route(f"/<{ID}:member_id>/tags/<{ID}:tag_id>", methods=["DELETE"])
@blp.scoped("customers:write")
@blp.response(200, s.TagSchema)
def remove_tag(member_id, tag_id):
    """Take a tag off the customer."""
    tag = tags.remove_tag(_member(member_id), tag_id, current_owner())
    return {"id": tag.id, "name": tag.name}


@blp.route(f"/<{ID}:member_id>/notes")
@blp.scoped("customers:read")
@blp.etag
@blp.response(200, s.NotePage)
def list_notes(member_id):
    """The latest notes of contacts with the customer, newest first."""
    record = crm.customer_record(_member(member_id))
    notes = record.interactions
    return {"items": [note_out(n) for n in notes], "page": 1, "per_page": max(len(notes), 1),
            "total": len(notes), "pages": 1 if notes else 0}


@blp.route(f"/<{ID}:member_id>/notes", methods=["POST"])
@blp.scoped("customers:write")
@blp.arguments(s.NoteIn, as_kwargs=True)
@blp.response(201, s.NoteSchema)
def add_note(member_id, kind, body, follow_up_on=None):
    """Note a contact with the customer (a call, an email, a visit...)."""
    note = interactions.add_interaction(_member(member_id), current_owner(), kind, body,
                                        follow_up_on=follow_up_on)
    return note_out(note)
