"""Claiming due rows of a durable queue (the mail outbox, webhook deliveries) for one sender,
safely when any number of senders on any number of machines run at once.

`claim_due_rows` is one `UPDATE ... RETURNING` over the rows a `SELECT ... LIMIT n` finds due:

- PostgreSQL: the inner SELECT takes `FOR UPDATE SKIP LOCKED`, so two senders never wait for
  or take the same rows, and the outer WHERE re-checks the due conditions on the latest row
  version (a row another sender claimed and committed meanwhile is no longer due).
- SQLite: the single statement runs under the database's one write lock, so it is atomic too.

Run it on an autocommitted connection (each sender's claim is visible to the others before
any delivery starts). What "due" means and what a claim writes (a lease, a status) are the
caller's: the queue's rules stay with its owner. `backoff` reads a queue's retry delays.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import timedelta

import sqlalchemy as sa


def backoff(delays: Sequence[int], attempts: int) -> timedelta:
    """The wait before the next try after `attempts` failed tries (1-based): the n-th of
    `delays` (seconds), the last one repeating."""
    index = min(max(attempts, 1), len(delays)) - 1
    return timedelta(seconds=delays[index])


def claim_due_rows(connection: sa.Connection, table: sa.Table,
                   due: Iterable[sa.ColumnElement[bool]], *,
                   order_by: Iterable[sa.ColumnElement], limit: int,
                   values: Mapping[str, object],
                   returning: Iterable[sa.ColumnElement]) -> list[sa.Row]:
    """Claim up to `limit` rows of `table` matching every condition in `due`, first by
    `order_by`, by setting `values` on them; the claimed rows' `returning` columns, in
    `order_by` order (UPDATE ... RETURNING gives no order of its own)."""
    due = list(due)
    order_by = list(order_by)
    key = table.primary_key.columns.values()[0]
    pick = sa.select(key).where(*due).order_by(*order_by).limit(limit)
    if connection.dialect.name == "postgresql":
        pick = pick.with_for_update(skip_locked=True)
    # A CTE, evaluated once: PostgreSQL may re-run an `IN (SELECT ... LIMIT n FOR UPDATE SKIP
    # LOCKED)` subquery inside the join and so claim far more than n rows.
    picked = pick.cte("due").prefix_with("MATERIALIZED", dialect="postgresql")
    stmt = (
        sa.update(table)
        .add_cte(picked)
        .where(key.in_(sa.select(picked.c[key.name])), *due)
        .values(**values)
        .returning(*returning)
    )
    rows = list(connection.execute(stmt))
    names = [column.key for column in order_by]
    rows.sort(key=lambda row: tuple(getattr(row, name) for name in names))
    return rows
