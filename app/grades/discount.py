"""The discount a member's grade gives, read from the database when it is needed.

A grade raised by another request applies at once: checkout reads the rate now, and the login
loader reads it with the member at the start of a request (`discount_rate_column`, wired in
`app.grades.init_app`). An unknown grade gives no discount; while no table has been saved the
default table's rates apply.
"""

from __future__ import annotations

from decimal import Decimal

import sqlalchemy as sa
from sqlalchemy.orm.attributes import set_committed_value

from app.core.extensions import db
from app.grades import grading
from app.grades.models import Tier
from app.grades.table import rule_for, table_is_saved
from app.membership.login import loaded_discount_rate
from app.membership.models import Member


def discount_rate_column(code) -> sa.ScalarSelect:
    """The discount rate of grade `code` (a column) in the tier table, as a column of a query:
    the login loader reads it with the member on a GET (app.grades.init_app)."""
    return sa.select(Tier.discount_rate).where(Tier.code == code).scalar_subquery()


# Built once: a checkout runs it (see checkout's statements).
_GRADE_AND_RATE = (
    sa.select(Member.__table__.c.tier_code, Tier.__table__.c.discount_rate)
    .outerjoin(Tier.__table__, Tier.__table__.c.code == Member.__table__.c.tier_code)
    .where(Member.__table__.c.id == sa.bindparam("member_id"))
)


def discount_rate_for(member: Member) -> Decimal:
    """The discount rate of the grade the member holds, read from the database now (so a
    grade raised by another request applies at once). An unknown grade gets no discount.

    On a GET the rate read with the member at the start of the request is that reading (the
    cart page needs no query of its own); otherwise, as in a checkout, it is read here, and
    the member object is brought up to date too, so the order snapshots the code and the rate
    of the same grade."""
    loaded = loaded_discount_rate(member)
    if loaded is not None:
        return loaded
    row = db.session.execute(_GRADE_AND_RATE, {"member_id": member.id}).first()
    if row is None:
        return Decimal("0")
    code, rate = row
    if code != member.tier_code:  # changed by another transaction since the member was loaded
        set_committed_value(member, "tier_code", code)
    if rate is None and not table_is_saved():
        default = rule_for(code, grading.DEFAULT_RULES)
        rate = default.discount_rate if default is not None else None
    return rate if rate is not None else Decimal("0")
