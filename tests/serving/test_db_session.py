"""What PostgreSQL's lazy BEGIN counts as a plain read (app.serving.db_session.is_plain_read): a
SELECT that writes nothing, locks no row and calls no function with a lasting effect, read
from the statement SQLAlchemy runs. Anything else begins the transaction before it runs
(tests/serving/test_transactions_pg.py holds the transactions themselves to it)."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from sqlalchemy.sql.expression import SavepointClause

from app.models import Book, Category
from app.serving.db_session import is_plain_read

book = Book.__table__
category = Category.__table__
with_cte = sa.select(book.c.id).where(book.c.stock_on_hand > 0).cte("in_stock")
updated = (sa.update(book).where(book.c.id == 1).values(stock_on_hand=0)
           .returning(book.c.id).cte("updated"))

PLAIN_READS = {
    "a Core select": sa.select(book.c.id, book.c.title).where(book.c.id == 1),
    "an ORM select with a join": sa.select(Book).join(Category).where(Category.slug == "x"),
    "a count": sa.select(sa.func.count()).select_from(book),
    "a union": sa.union(sa.select(book.c.id), sa.select(category.c.id)),
    "a select over a CTE": sa.select(with_cte.c.id),
    "a subquery": sa.select(book.c.id).where(
        book.c.category_id.in_(sa.select(category.c.id).scalar_subquery())),
    "functions without an effect": sa.select(sa.func.lower(book.c.title),
                                             sa.func.coalesce(book.c.stock_on_hand, 0)),
    "a literal column": sa.select(sa.func.string_agg(book.c.title, sa.literal_column("', '"))),
    "SELECT written as text": sa.text("SELECT count(*) FROM pg_prepared_statements"),
}

NOT_PLAIN_READS = {
    "an INSERT": sa.insert(book).values(title="x"),
    "an UPDATE": sa.update(book).values(stock_on_hand=0),
    "a DELETE": sa.delete(book).where(book.c.id == 1),
    "FOR UPDATE": sa.select(book).where(book.c.id == 1).with_for_update(),
    "an ORM FOR UPDATE": sa.select(Book).where(Book.id == 1).with_for_update(skip_locked=True),
    "FOR SHARE": sa.select(book.c.id).with_for_update(read=True),
    "FOR UPDATE in a subquery": sa.select(book.c.id).where(book.c.id.in_(
        sa.select(book.c.id).with_for_update().scalar_subquery())),
    "FOR UPDATE in one branch of a union": sa.union(
        sa.select(book.c.id), sa.select(category.c.id).with_for_update()),
    "an UPDATE in a CTE": sa.select(updated.c.id),
    "nextval": sa.select(sa.func.nextval("book_id_seq")),
    "set_config": sa.select(sa.func.set_config("work_mem", "64MB", True)),
    "an advisory lock": sa.select(sa.func.pg_advisory_xact_lock(7)),
    "now()": sa.select(sa.func.now()),
    "current_timestamp": sa.select(book.c.id).where(
        book.c.created_at < sa.func.current_timestamp()),
    "txid_current": sa.select(sa.func.txid_current()),
    "pg_notify": sa.select(sa.func.pg_notify("channel", "hello")),
    "now() as a literal column": sa.select(sa.literal_column("now()")),
    "FOR UPDATE written as text": sa.text("SELECT id FROM book WHERE id = 1 FOR UPDATE"),
    "WITH written as text": sa.text("WITH x AS (DELETE FROM book RETURNING id) SELECT * FROM x"),
    "SET written as text": sa.text("SET synchronous_commit = off"),
    "a SAVEPOINT": SavepointClause("sa_savepoint_1"),
    "DDL": sa.schema.CreateTable(sa.Table("scratch", sa.MetaData(), sa.Column("id", sa.Integer))),
}


@pytest.mark.parametrize("statement", PLAIN_READS.values(), ids=PLAIN_READS.keys())
def test_a_select_that_only_reads_is_a_plain_read(statement):
    assert is_plain_read(statement)


@pytest.mark.parametrize("statement", NOT_PLAIN_READS.values(), ids=NOT_PLAIN_READS.keys())
def test_a_write_a_lock_or_an_effect_is_not_a_plain_read(statement):
    assert not is_plain_read(statement)
