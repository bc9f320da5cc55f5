"""The member's side of demand: the book-page form, the demand list, requests, preferences,
and the unsubscribe link."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from app.core.extensions import db
from app.demand import tokens
from app.demand.stock import receive_stock
from app.models import Book, Demand, DemandStatus, Member
from tests.factories import make_book, make_demand, make_member
from tests.pages import csrf_token as _csrf_token
from tests.pages import log_in


@pytest.fixture
def member(app, client):
    with app.app_context():
        member = make_member(email="reader@example.test", name="Rita Reader")
        db.session.commit()
        member_id = member.id
    log_in(client, "reader@example.test")
    return member_id


def _book(app, **values) -> int:
    with app.app_context():
        book = make_book(**values)
        db.session.commit()
        return book.id


def _demands(app) -> list[tuple]:
    with app.app_context():
        return [(d.book_id, d.quantity, d.note, d.status) for d in
                db.session.scalars(sa.select(Demand).order_by(Demand.id))]


def test_an_out_of_stock_book_page_offers_tell_me_when_it_is_in_stock(app, client, member):
    book_id = _book(app, stock_on_hand=0)

    page = client.get(f"/book/{book_id}").get_data(as_text=True)

    assert "Tell me when it is in stock" in page
    assert f'action="/demand/book/{book_id}"' in page
    assert 'name="quantity"' in page and 'value="1"' in page


def test_a_book_in_stock_shows_no_demand_form(app, client, member):
    book_id = _book(app, stock_on_hand=3)

    assert f"/demand/book/{book_id}" not in client.get(f"/book/{book_id}").get_data(as_text=True)


def test_a_member_asks_and_sees_it_on_their_demand_list(app, client, member):
    book_id = _book(app, title="Dune", stock_on_hand=0)

    response = client.post(f"/demand/book/{book_id}", data={"quantity": "2", "note": "gift"})

    assert response.status_code == 302 and response.headers["Location"] == "/demand/"
    assert _demands(app) == [(book_id, 2, "gift", DemandStatus.OPEN)]
    page = client.get("/demand/").get_data(as_text=True)
    assert "Dune" in page and "Waiting" in page and "gift" in page


def test_asking_again_updates_the_same_entry(app, client, member):
    book_id = _book(app, stock_on_hand=0)
    client.post(f"/demand/book/{book_id}", data={"quantity": "1"})

    client.post(f"/demand/book/{book_id}", data={"quantity": "4"})

    assert [(q, s) for _, q, _, s in _demands(app)] == [(4, DemandStatus.OPEN)]


@pytest.mark.parametrize(("data", "message"), [
    ({"quantity": "0"}, "from 1 to 99"),
    ({"quantity": "-2"}, "from 1 to 99"),
    ({"quantity": "abc"}, "Not a valid integer"),
    ({"quantity": "1", "note": "n" * 501}, "at most 500 characters"),
])
def test_bad_input_is_refused_beside_the_field_and_nothing_is_written(app, client, member,
                                                                      data, message):
    book_id = _book(app, stock_on_hand=0)

    response = client.post(f"/demand/book/{book_id}", data=data)

    assert response.status_code == 400
    assert message in response.get_data(as_text=True)
    assert _demands(app) == []


def test_demand_for_a_book_in_stock_is_refused_clearly(app, client, member):
    book_id = _book(app, title="Plenty", stock_on_hand=5)

    response = client.post(f"/demand/book/{book_id}", data={"quantity": "1"})

    assert response.status_code == 400
    assert "in stock: you can order it right now" in response.get_data(as_text=True)
    assert _demands(app) == []


def test_an_unknown_or_absurd_book_id_is_a_404(client, member):
    assert client.post("/demand/book/999999", data={"quantity": "1"}).status_code == 404
    assert client.get("/demand/book/99999999999999").status_code == 404


def test_the_member_cancels_from_the_list_and_sees_when_they_were_notified(app, client, member):
    book_id = _book(app, title="Dune", stock_on_hand=0)
    client.post(f"/demand/book/{book_id}", data={"quantity": "1"})
    other_id = _book(app, title="Emma", stock_on_hand=0)
    client.post(f"/demand/book/{other_id}", data={"quantity": "1"})
    with app.app_context():
        receive_stock(book_id, 1)
        db.session.commit()
        emma = db.session.scalar(sa.select(Demand.id).where(Demand.book_id == other_id))

    page = client.get("/demand/").get_data(as_text=True)
    assert "In stock: you were told" in page and "1 copy held until" in page

    response = client.post(f"/demand/{emma}/cancel")

    assert response.status_code == 302
    assert "Cancelled" in client.get("/demand/").get_data(as_text=True)


def test_a_member_cannot_cancel_someone_elses_entry(app, client, member):
    with app.app_context():
        theirs = make_demand()
        db.session.commit()
        theirs_id = theirs.id

    assert client.post(f"/demand/{theirs_id}/cancel").status_code == 404


def test_the_demand_list_needs_a_login(client):
    assert client.get("/demand/").status_code == 302


def test_a_member_requests_a_book_we_do_not_carry(app, client, member):
    response = client.post("/demand/request", data={
        "title": "The Lost Book", "author": "A. Writer", "isbn": "0-306-40615-2",
        "quantity": "1", "note": ""})

    assert response.status_code == 302
    with app.app_context():
        demand = db.session.scalar(sa.select(Demand))
        assert demand.requested_isbn == "9780306406157" and demand.book_id is None
    assert "not in our catalog yet" in client.get("/demand/").get_data(as_text=True)


def test_a_bad_isbn_or_a_duplicate_request_is_refused(app, client, member):
    bad = client.post("/demand/request", data={"title": "X", "isbn": "12345", "quantity": "1"})
    assert bad.status_code == 400 and "not a valid ISBN" in bad.get_data(as_text=True)
    assert 'value="X"' in bad.get_data(as_text=True)  # what was typed is kept

    client.post("/demand/request", data={"title": "Rare Poems", "quantity": "1"})
    again = client.post("/demand/request", data={"title": "rare poems", "quantity": "1"})

    assert again.status_code == 400 and "already asked" in again.get_data(as_text=True)
    assert len(_demands(app)) == 1


def test_the_request_form_needs_a_title_or_an_isbn(client, member):
    response = client.post("/demand/request", data={"title": "", "isbn": "", "quantity": "1"})
    assert response.status_code == 400
    assert "Please give the title or the ISBN." in response.get_data(as_text=True)


def test_the_account_overview_links_the_demand_list_and_mail_preferences(client, member):
    page = client.get("/account/").get_data(as_text=True)

    assert 'href="/demand/"' in page and 'href="/demand/preferences"' in page


def test_a_member_turns_stock_alerts_off_on_the_preferences_page(app, client, member):
    assert "checked" in client.get("/demand/preferences").get_data(as_text=True)

    response = client.post("/demand/preferences", data={"news": "y"})

    assert response.status_code == 302
    with app.app_context():
        saved = db.session.get(Member, member)
        assert saved.stock_alerts_opt_in is False and saved.mail_opt_in is True


def test_the_unsubscribe_link_asks_first_then_unsubscribes(app, client):
    with app.app_context():
        member = make_member(email="leaver@example.test")
        db.session.commit()
        token = tokens.token_for_member(member.id)
        member_id = member.id

    page = client.get(f"/demand/unsubscribe/{token}")
    assert page.status_code == 200 and "leaver@example.test" in page.get_data(as_text=True)
    with app.app_context():
        assert db.session.get(Member, member_id).stock_alerts_opt_in is True

    done = client.post(f"/demand/unsubscribe/{token}")

    assert done.status_code == 200 and "You are unsubscribed" in done.get_data(as_text=True)
    with app.app_context():
        assert db.session.get(Member, member_id).stock_alerts_opt_in is False


def test_a_forged_unsubscribe_token_is_refused_and_changes_nothing(app, client):
    with app.app_context():
        member = make_member()
        db.session.commit()
        token = tokens.token_for_member(member.id)
        member_id = member.id
    payload, _, signature = token.rpartition(".")
    forged = payload + "." + ("A" if signature[0] != "A" else "B") + signature[1:]

    for response in (client.get(f"/demand/unsubscribe/{forged}"),
                     client.post(f"/demand/unsubscribe/{forged}"),
                     client.post("/demand/unsubscribe/not-a-token")):
        assert response.status_code == 400
        assert "not valid" in response.get_data(as_text=True)
    with app.app_context():
        assert db.session.get(Member, member_id).stock_alerts_opt_in is True


def test_an_expired_unsubscribe_token_is_refused_clearly(app, client):
    app.config["UNSUBSCRIBE_MAX_AGE_DAYS"] = -1
    with app.app_context():
        token = tokens.token_for_member(1)

    response = client.get(f"/demand/unsubscribe/{token}")

    assert response.status_code == 400 and "expired" in response.get_data(as_text=True)


# --------------------------------------------------------------------------- CSRF on


class TestWithCsrf:
    @pytest.fixture
    def app_config(self):
        return {"WTF_CSRF_ENABLED": True}

    @pytest.mark.parametrize("path_kind", ["notify", "request", "preferences", "cancel",
                                           "hold"])
    def test_a_demand_form_posted_without_its_token_is_refused(self, app, client, member,
                                                               path_kind):
        book_id = _book(app, stock_on_hand=0)
        with app.app_context():
            demand = make_demand(db.session.get(Member, member), db.session.get(Book, book_id))
            db.session.commit()
            demand_id = demand.id
        path = {"notify": f"/demand/book/{book_id}", "request": "/demand/request",
                "preferences": "/demand/preferences", "cancel": f"/demand/{demand_id}/cancel",
                "hold": "/demand/holds/1/cart"}[path_kind]

        response = client.post(path, data={"quantity": "1", "title": "X"})

        assert response.status_code == 400
        with app.app_context():
            assert db.session.get(Demand, demand_id).status == DemandStatus.OPEN
            assert db.session.scalar(sa.select(sa.func.count(Demand.id))) == 1

    def test_the_book_page_form_carries_a_token_and_works(self, app, client, member):
        book_id = _book(app, stock_on_hand=0)
        token = _csrf_token(client, f"/book/{book_id}")

        response = client.post(f"/demand/book/{book_id}",
                               data={"quantity": "1", "csrf_token": token})

        assert response.status_code == 302


def test_the_demand_list_says_when_stock_alerts_are_off(app, client, member):
    assert 'data-testid="alerts-off"' not in client.get("/demand/").get_data(as_text=True)
    with app.app_context():
        db.session.get(Member, member).stock_alerts_opt_in = False
        db.session.commit()

    page = client.get("/demand/").get_data(as_text=True)

    assert 'data-testid="alerts-off"' in page and "neither hold them for you" in page
