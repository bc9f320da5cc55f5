"""An unexpected failure shows the shop's own error page, header and all, even when it broke
the request's database transaction (the header reads the member and their cart badge), and
still shows it, without the member, when the database fails again for the page itself."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from app.core.extensions import db
from app.models import Book
from tests.factories import make_member


@pytest.mark.parametrize("app_config", [{"PROPAGATE_EXCEPTIONS": False}])
def test_a_failed_transaction_still_gets_the_error_page_with_the_members_header(app, client,
                                                                              auth):
    @app.get("/test-broken")
    def broken():
        db.session.add(Book(title=None))  # violates NOT NULL: the flush fails
        db.session.flush()

    with app.app_context():
        make_member(email="member@example.test")
        db.session.commit()
    auth.login()

    response = client.get("/test-broken")

    assert response.status_code == 500
    page = response.get_data(as_text=True)
    assert "Log out" in page  # the header read the member after the rollback
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Book)) == 0


@pytest.mark.parametrize("app_config", [{"PROPAGATE_EXCEPTIONS": False}])
def test_a_member_whose_session_the_database_cannot_read_gets_the_error_page(app, client,
                                                                          auth):
    with app.app_context():
        make_member(email="member@example.test")
        db.session.commit()
    auth.login()
    with app.app_context():  # the table the user loader reads is gone: every load fails
        db.session.execute(sa.text("ALTER TABLE member_sessions RENAME TO sessions_gone"))
        db.session.commit()

    response = client.get("/cart")

    assert response.status_code == 500
    page = response.get_data(as_text=True)
    assert "<header" in page and "Log out" not in page  # the shop's page, without the member
