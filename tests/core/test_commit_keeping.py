"""app.core.db.commit_keeping: a commit after which the objects just written are used as they are,
without a query to read them back; everything else is expired as after any commit."""

from __future__ import annotations

import sqlalchemy as sa

from app.core.db import commit_keeping
from app.core.extensions import db
from app.models import Category
from tests.factories import make_category


def test_the_written_object_is_kept_and_the_rest_read_again(app):
    with app.app_context():
        written = make_category(name="Written")
        other = make_category(name="Other")
        db.session.flush()

        commit_keeping(db.session(), written)

        assert not sa.inspect(written).expired_attributes
        assert "name" in sa.inspect(other).expired_attributes
        assert db.session.scalar(sa.select(Category.name).where(Category.id == written.id)) \
            == written.name == "Written"


def test_it_is_a_commit(app):
    with app.app_context():
        written = make_category(name="Committed")
        commit_keeping(db.session(), written)
        db.session.rollback()

        assert db.session.scalar(sa.select(sa.func.count()).select_from(Category)
                                 .where(Category.name == "Committed")) == 1


def test_the_session_expires_on_commit_again_afterwards(app):
    with app.app_context():
        written = make_category(name="Once")
        commit_keeping(db.session(), written)
        db.session.commit()

        assert "name" in sa.inspect(written).expired_attributes
