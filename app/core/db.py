"""Database foundations: the declarative base, exact money, UTC timestamps."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import sqlalchemy as sa
from sqlalchemy.orm import DeclarativeBase, registry

from app.core.money import from_cents, to_cents

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def utcnow() -> datetime:
    return datetime.now(UTC)


class Money(sa.types.TypeDecorator):
    """Exact money: Decimal in Python, integer cents in the database.

    SQLite passes `Numeric` through floats, so cents it is; a float or a fraction of a cent is
    refused here rather than rounded silently (rounding lives in `app.core.money`).
    """

    impl = sa.BigInteger
    cache_ok = True

    def process_bind_param(self, value: Decimal | None, dialect: sa.Dialect) -> int | None:
        return None if value is None else to_cents(value)

    def process_result_value(self, value: int | None, dialect: sa.Dialect) -> Decimal | None:
        return None if value is None else from_cents(value)


class UTCDateTime(sa.types.TypeDecorator):
    """Timezone-aware UTC datetimes on every database (SQLite drops tzinfo)."""

    impl = sa.DateTime
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: sa.Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given; use app.core.db.utcnow()")
        return value.astimezone(UTC).replace(tzinfo=None)

    def process_result_value(self, value: datetime | None, dialect: sa.Dialect) -> datetime | None:
        return None if value is None else value.replace(tzinfo=UTC)


class Rate(sa.types.TypeDecorator):
    """An exact rate such as a discount (0.05 = 5 %), stored as integer basis points."""

    impl = sa.Integer
    cache_ok = True
    _BP = Decimal("0.0001")

    def process_bind_param(self, value: Decimal | None, dialect: sa.Dialect) -> int | None:
        if value is None:
            return None
        if not isinstance(value, Decimal):
            raise TypeError(f"rate must be Decimal, got {type(value).__name__}")
        bp = value * 10000
        if bp != bp.to_integral_value():
            raise ValueError(f"{value} is finer than a basis point")
        return int(bp)

    def process_result_value(self, value: int | None, dialect: sa.Dialect) -> Decimal | None:
        return None if value is None else (Decimal(value) / 10000).quantize(self._BP)


class Base(DeclarativeBase):
    registry = registry(
        metadata=sa.MetaData(naming_convention=NAMING_CONVENTION),
        type_annotation_map={datetime: UTCDateTime(), Decimal: Money()},
    )


# Indexes the migrations write by hand because Alembic cannot compare them on every database
# (expression indexes on SQLite); autogenerate and the migration test leave them alone.
HAND_WRITTEN_INDEXES = frozenset({"ix_book_category_listing"})
