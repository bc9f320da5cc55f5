"""The request's unit of work (app.core.unit_of_work): a request that may change state is
committed once, after its view succeeded; anything else is rolled back; a refusal that leaves a
view is rolled back, flashed and sent back; work waiting for the commit runs only after it."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from flask import abort, redirect

from app.catalog.models import Category
from app.core.errors import InvalidInput
from app.core.extensions import db
from app.core.unit_of_work import after_commit, back_on_error

ran: list[str] = []


def _add(slug: str) -> None:
    db.session.add(Category(slug=slug, name=slug))
    db.session.flush()


@pytest.fixture
def views(app):
    """A few views on the real app that write a category, then answer in different ways."""
    ran.clear()

    def saved():
        _add("saved")
        after_commit(lambda: ran.append("after saved"))
        return redirect("/")

    def refused_form():
        _add("refused-form")
        after_commit(lambda: ran.append("after refused form"))
        return "the form again, with its errors", 400

    def refused_rule(**_url_values):
        _add("refused-rule")
        after_commit(lambda: ran.append("after refused rule"))
        raise InvalidInput("Not like that.")

    def failed():
        _add("failed")
        abort(500)

    app.add_url_rule("/uow/saved", "uow_saved", saved, methods=["GET", "POST"])
    app.add_url_rule("/uow/refused-form", "uow_refused_form", refused_form, methods=["POST"])
    app.add_url_rule("/uow/refused-rule/<int:number>", "uow_refused_rule",
                     back_on_error("uow_saved")(refused_rule), methods=["POST"])
    app.add_url_rule("/uow/plain-refusal", "uow_plain_refusal", refused_rule, methods=["POST"])
    app.add_url_rule("/uow/failed", "uow_failed", failed, methods=["POST"])
    app.config["WTF_CSRF_ENABLED"] = False
    return app


def _slugs(app) -> set[str]:
    with app.app_context():
        return set(db.session.scalars(sa.select(Category.slug)))


def test_a_successful_post_is_committed_once_and_then_runs_what_waited_for_the_commit(views):
    response = views.test_client().post("/uow/saved")

    assert response.status_code == 302
    assert _slugs(views) == {"saved"}
    assert ran == ["after saved"]


def test_a_get_is_never_committed(views):
    assert views.test_client().get("/uow/saved").status_code == 302

    assert _slugs(views) == set()
    assert ran == []


def test_a_view_answering_with_an_error_status_is_rolled_back(views):
    assert views.test_client().post("/uow/refused-form").status_code == 400

    assert _slugs(views) == set()
    assert ran == []


def test_a_refusal_leaving_the_view_is_rolled_back_flashed_and_sent_back(views):
    client = views.test_client()

    response = client.post("/uow/refused-rule/7")

    assert response.status_code == 303
    assert response.headers["Location"] == "/uow/saved"
    assert _slugs(views) == set()
    assert ran == []
    with client.session_transaction() as session:
        assert session["_flashes"] == [("error", "Not like that.")]


def test_without_a_named_page_a_refusal_goes_back_to_the_same_path(views):
    response = views.test_client().post("/uow/plain-refusal")

    assert (response.status_code, response.headers["Location"]) == (303, "/uow/plain-refusal")


def test_a_refusal_asked_for_as_json_is_a_409_with_the_message(views):
    response = views.test_client().post("/uow/plain-refusal",
                                        headers={"Accept": "application/json"})

    assert (response.status_code, response.get_json()) == (409, {"error": "Not like that."})
    assert _slugs(views) == set()


def test_a_server_error_is_rolled_back(views):
    assert views.test_client().post("/uow/failed").status_code == 500

    assert _slugs(views) == set()


def test_a_commands_unit_of_work_commits_the_block_or_rolls_it_back(app):
    from app.core.unit_of_work import committed

    with app.app_context():
        with committed():
            _add("kept")
        with pytest.raises(RuntimeError), committed():
            _add("dropped")
            raise RuntimeError("the command failed")

    assert _slugs(app) == {"kept"}
