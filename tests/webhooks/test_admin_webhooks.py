"""The admin's webhook pages: admins only; registering shows the secret once; a bad URL is
refused with the form kept; the delivery log filters; replay and the test event are audited."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from app.core.audit.models import AuditEntry
from app.core.extensions import db
from app.webhooks.events import STOCK_RECEIVED, queue_event
from app.webhooks.models import DeliveryStatus, WebhookDelivery, WebhookEndpoint
from app.webhooks.sender import deliver_due
from tests.factories import make_admin
from tests.pages import log_in
from tests.webhooks.conftest import make_endpoint

PAGES = ["/admin/webhooks/", "/admin/webhooks/new", "/admin/webhooks/{id}",
         "/admin/webhooks/{id}/edit", "/admin/webhooks/{id}/deliveries/{delivery}"]


@pytest.fixture
def admin(app, client):
    with app.app_context():
        make_admin(email="boss@example.test")
        db.session.commit()
    return log_in(client, "boss@example.test")


@pytest.fixture
def endpoint_ids(app) -> dict:
    with app.app_context():
        endpoint = make_endpoint("http://127.0.0.1:9/hooks", description="Warehouse")
        queue_event(STOCK_RECEIVED, {"receipt": {"id": 1}})
        db.session.commit()
        delivery = db.session.scalars(sa.select(WebhookDelivery.id)).one()
        return {"id": endpoint.id, "delivery": delivery}


def audit_actions(app) -> list[str]:
    with app.app_context():
        return list(db.session.scalars(sa.select(AuditEntry.action).order_by(AuditEntry.id)))


@pytest.mark.parametrize("page", PAGES)
def test_staff_may_not_open_the_webhook_pages(staff, endpoint_ids, page):
    assert staff.get(page.format(**endpoint_ids)).status_code == 403


def test_staff_may_not_register_an_endpoint_nor_see_the_sidebar_entry(app, staff):
    response = staff.post("/admin/webhooks/new", data={"url": "https://example.com/h",
                                                       "events": ["order.placed"]})

    assert response.status_code == 403
    assert 'href="/admin/webhooks/"' not in staff.get("/admin/").get_data(as_text=True)
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count(WebhookEndpoint.id))) == 0


@pytest.mark.parametrize("page", PAGES)
def test_an_admin_sees_every_webhook_page(admin, endpoint_ids, page):
    response = admin.get(page.format(**endpoint_ids))

    assert response.status_code == 200
    assert b'href="/admin/webhooks/" aria-current' in response.data


def test_registering_an_endpoint_shows_its_secret_once(app, admin):
    response = admin.post("/admin/webhooks/new", data={
        "url": "https://example.com/hooks", "description": "Accounting",
        "events": ["order.placed", "order.status_changed"]})

    assert response.status_code == 200
    assert "no-store" in response.headers["Cache-Control"]
    with app.app_context():
        endpoint = db.session.scalars(sa.select(WebhookEndpoint)).one()
        secret, endpoint_id = endpoint.secret, endpoint.id
        assert endpoint.events == ["order.placed", "order.status_changed"]
        assert endpoint.active
    assert secret.startswith("whsec_") and secret in response.get_data(as_text=True)
    detail = admin.get(f"/admin/webhooks/{endpoint_id}").get_data(as_text=True)
    assert secret not in detail and secret[-4:] in detail
    assert audit_actions(app) == ["webhook.create"]
    with app.app_context():
        entry = db.session.scalars(sa.select(AuditEntry)).one()
        assert secret not in str(entry.after)


@pytest.mark.parametrize(("url", "message"), [
    ("", "Enter the URL"),
    ("ftp://example.com/hooks", "http:// or https://"),
    ("https://", "http:// or https://"),
    ("https://user:pw@example.com/h", "Leave user names"),
    ("https://exa mple.com/h", "no spaces"),
    ("https://example.com:99999/h", "http:// or https://"),
    ("https://example.com/" + "x" * 2000, "2000 characters"),
])
def test_a_bad_url_is_refused_and_the_form_keeps_what_was_typed(app, admin, url, message):
    response = admin.post("/admin/webhooks/new", data={
        "url": url, "description": "Kept", "events": ["stock.received"]})

    assert response.status_code == 400
    page = response.get_data(as_text=True)
    assert message in page
    assert 'value="Kept"' in page and 'value="stock.received" checked' in page
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count(WebhookEndpoint.id))) == 0


def test_an_endpoint_needs_a_known_event(app, admin):
    none = admin.post("/admin/webhooks/new", data={"url": "https://example.com/h"})
    unknown = admin.post("/admin/webhooks/new", data={"url": "https://example.com/h",
                                                      "events": ["order.eaten"]})

    assert none.status_code == unknown.status_code == 400
    assert "Choose at least one event." in none.get_data(as_text=True)
    assert "Choose among the events listed." in unknown.get_data(as_text=True)


def test_editing_disabling_and_a_new_secret_are_audited(app, admin, endpoint_ids):
    endpoint_id = endpoint_ids["id"]
    with app.app_context():
        old_secret = db.session.get(WebhookEndpoint, endpoint_id).secret

    edited = admin.post(f"/admin/webhooks/{endpoint_id}/edit", data={
        "url": "https://example.com/new", "events": ["demand.created"]})
    disabled = admin.post(f"/admin/webhooks/{endpoint_id}/disable")
    renewed = admin.post(f"/admin/webhooks/{endpoint_id}/secret")

    assert edited.status_code == disabled.status_code == 302
    with app.app_context():
        endpoint = db.session.get(WebhookEndpoint, endpoint_id)
        assert (endpoint.url, endpoint.events, endpoint.active) == (
            "https://example.com/new", ["demand.created"], False)
        assert endpoint.secret != old_secret
        assert endpoint.secret in renewed.get_data(as_text=True)
    assert audit_actions(app) == ["webhook.update", "webhook.disable", "webhook.new_secret"]


def test_the_delivery_log_filters_by_status_and_event(app, admin, endpoint_ids):
    page = f"/admin/webhooks/{endpoint_ids['id']}"
    delivery_link = f"/deliveries/{endpoint_ids['delivery']}"

    assert delivery_link in admin.get(page + "?status=pending").get_data(as_text=True)
    assert delivery_link not in admin.get(page + "?status=delivered").get_data(as_text=True)
    assert delivery_link not in admin.get(page + "?event=order.placed").get_data(as_text=True)
    assert admin.get(page + "?status=bogus").status_code == 400


def test_replay_from_the_log_requeues_and_is_audited(app, admin, endpoint_ids, receiver):
    with app.app_context():
        db.session.get(WebhookEndpoint, endpoint_ids["id"]).url = receiver.url
        db.session.commit()
        deliver_due()
    url = f"/admin/webhooks/{endpoint_ids['id']}/deliveries/{endpoint_ids['delivery']}"

    response = admin.post(url + "/replay")

    assert response.status_code == 302
    with app.app_context():
        row = db.session.get(WebhookDelivery, endpoint_ids["delivery"])
        assert row.status == DeliveryStatus.PENDING and row.attempts == 0
        deliver_due()
    assert len(receiver.received) == 2
    assert audit_actions(app) == ["webhook.replay"]
    assert admin.post(f"/admin/webhooks/{endpoint_ids['id']}/deliveries/999/replay",
                      ).status_code == 303  # no such delivery: said, sent back


def test_a_test_event_goes_to_that_endpoint_only(app, admin, endpoint_ids, receiver):
    with app.app_context():
        db.session.get(WebhookEndpoint, endpoint_ids["id"]).url = receiver.url
        make_endpoint(receiver.url + "/other")
        db.session.commit()

    response = admin.post(f"/admin/webhooks/{endpoint_ids['id']}/test")

    assert response.status_code == 302
    with app.app_context():
        deliver_due()
    tests = [r for r in receiver.received if r.headers["Bookstation-Event"] == "webhook.test"]
    assert [r.path for r in tests] == ["/hooks"]
    assert audit_actions(app) == ["webhook.test"]


def test_a_disabled_endpoint_gets_no_test_event(app, admin, endpoint_ids):
    admin.post(f"/admin/webhooks/{endpoint_ids['id']}/disable")

    response = admin.post(f"/admin/webhooks/{endpoint_ids['id']}/test", follow_redirects=True)

    assert "enable it to send it a test event" in response.get_data(as_text=True)
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).where(
            WebhookDelivery.event_type == "webhook.test")) == 0
