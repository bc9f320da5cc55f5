"""Webhook endpoints: registering, editing, disabling and enabling one, and its secret.

Admins only (the admin pages say so with `admin_required`); every change is audited
("webhook.create", "webhook.update", "webhook.disable", "webhook.enable",
"webhook.new_secret") with the URL, description, events and state, never the secret. The secret
is made here (app.webhooks.signing.new_secret), returned once to be shown once, and kept in the
endpoint's row to sign (see WebhookEndpoint). Functions flush, never commit.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from urllib.parse import urlsplit

import sqlalchemy as sa
from flask_babel import gettext as _

from app.core.audit import record as audit
from app.core.errors import InvalidInput, NotFound
from app.core.extensions import db
from app.core.security import has_control_characters
from app.membership.models import Member
from app.webhooks.events import EVENT_TYPES
from app.webhooks.models import WebhookEndpoint
from app.webhooks.signing import new_secret

URL_MAX_LENGTH = 2000
DESCRIPTION_MAX_LENGTH = 200
AUDITED_FIELDS = ("url", "description", "events", "active")


class EndpointFieldError(InvalidInput):
    """Input refused for one field of the endpoint form; `field` names it."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field


@dataclass(frozen=True)
class NewSecret:
    """An endpoint and its secret in clear, to be shown to the admin this once."""

    endpoint: WebhookEndpoint
    secret: str


def clean_url(url: str | None) -> str:
    """An absolute http(s) URL with a host, no credentials in it, at most URL_MAX_LENGTH."""
    text = (url or "").strip()
    if not text:
        raise EndpointFieldError("url", _("Enter the URL the events go to."))
    if len(text) > URL_MAX_LENGTH:
        raise EndpointFieldError("url", _("At most %(max)d characters, please.",
                                          max=URL_MAX_LENGTH))
    if has_control_characters(text) or any(c.isspace() for c in text):
        raise EndpointFieldError("url", _("A URL has no spaces or control characters."))
    try:
        parts = urlsplit(text)
        parts.port  # noqa: B018  (raises ValueError for a port out of range)
    except ValueError:
        parts = None
    if parts is None or parts.scheme.lower() not in ("http", "https") or not parts.hostname:
        raise EndpointFieldError("url", _("Enter a full http:// or https:// URL, such as "
                                          "https://example.com/hooks/bookstation."))
    if parts.username is not None or parts.password is not None:
        raise EndpointFieldError("url", _("Leave user names and passwords out of the URL: "
                                          "the signature proves each delivery."))
    return text


def clean_events(events: Iterable[str] | None) -> list[str]:
    """The chosen event types, in EVENT_TYPES' order; at least one, each known."""
    chosen = set(events or ())
    if not chosen:
        raise EndpointFieldError("events", _("Choose at least one event."))
    if chosen - set(EVENT_TYPES):
        raise EndpointFieldError("events", _("Choose among the events listed."))
    return [event for event in EVENT_TYPES if event in chosen]


def clean_description(text: str | None) -> str | None:
    text = " ".join((text or "").split()) or None
    if text is not None and len(text) > DESCRIPTION_MAX_LENGTH:
        raise EndpointFieldError("description", _("At most %(max)d characters, please.",
                                                  max=DESCRIPTION_MAX_LENGTH))
    return text


def get_endpoint(endpoint_id: int) -> WebhookEndpoint:
    endpoint = db.session.get(WebhookEndpoint, endpoint_id)
    if endpoint is None:
        raise NotFound(_("There is no such webhook endpoint."))
    return endpoint


def list_endpoints() -> list[WebhookEndpoint]:
    return list(db.session.scalars(sa.select(WebhookEndpoint).order_by(WebhookEndpoint.id)))


def _state(endpoint: WebhookEndpoint) -> dict:
    return audit.snapshot(endpoint, AUDITED_FIELDS)


def create_endpoint(url: str | None, events: Iterable[str] | None, actor: Member,
                    description: str | None = None) -> NewSecret:
    """Register an active endpoint with a new secret (returned in clear, once). Raises
    EndpointFieldError; nothing is written then."""
    endpoint = WebhookEndpoint(url=clean_url(url), events=clean_events(events),
                               description=clean_description(description),
                               secret=new_secret(), active=True, created_by_id=actor.id)
    db.session.add(endpoint)
    db.session.flush()
    audit.record(actor.id, actor.email, "webhook.create", endpoint, after=_state(endpoint),
                 summary=f"Webhook to {endpoint.url}")
    return NewSecret(endpoint, endpoint.secret)


def update_endpoint(endpoint_id: int, url: str | None, events: Iterable[str] | None,
                    actor: Member, description: str | None = None) -> WebhookEndpoint:
    """Change an endpoint's URL, description and events (deliveries already queued keep
    going to it). Raises NotFound or EndpointFieldError."""
    endpoint = get_endpoint(endpoint_id)
    values = {"url": clean_url(url), "events": clean_events(events),
              "description": clean_description(description)}
    before = _state(endpoint)
    for name, value in values.items():
        setattr(endpoint, name, value)
    db.session.flush()
    audit.record(actor.id, actor.email, "webhook.update", endpoint, before=before,
                 after=_state(endpoint), summary=f"Webhook to {endpoint.url}")
    return endpoint


def set_active(endpoint_id: int, active: bool, actor: Member) -> WebhookEndpoint:
    """Disable (no new events are queued for it, and its queued deliveries wait) or enable
    again (they go out, if not too old: see app.webhooks.sender)."""
    endpoint = get_endpoint(endpoint_id)
    before = _state(endpoint)
    endpoint.active = active
    db.session.flush()
    audit.record(actor.id, actor.email, "webhook.enable" if active else "webhook.disable",
                 endpoint, before=before, after=_state(endpoint),
                 summary=f"Webhook to {endpoint.url}")
    return endpoint


def renew_secret(endpoint_id: int, actor: Member) -> NewSecret:
    """A new secret for the endpoint (the old one stops signing at once; deliveries not yet
    sent are signed with the new one), returned in clear once. Audited without the secret."""
    endpoint = get_endpoint(endpoint_id)
    endpoint.secret = new_secret()
    db.session.flush()
    audit.record(actor.id, actor.email, "webhook.new_secret", endpoint,
                 summary=f"New secret for the webhook to {endpoint.url}")
    return NewSecret(endpoint, endpoint.secret)
