"""The mails of one stock arrival ("stock arrived", "not enough copies"), many at once.

`ArrivalMails` renders each template once per shape (kind, copies held, language) with
placeholders for the personal parts (the reader's name, their unsubscribe link), fills them
in per reader, and queues everything with the outbox's bulk writer (`enqueue_many`), so a book
with thousands of waiting readers costs a handful of renders and one write. Each mail reads as
if rendered for its reader alone: the reader's language (a member's saved one, or the one a
visitor asked in; else the shop's default), their name (else their address), their own signed
unsubscribe link in the body and the `List-Unsubscribe` headers (app.demand.tokens).

A member who turned stock alerts off, or whose account is deactivated, gets no mail.
"""

from __future__ import annotations

import re
from datetime import datetime

import sqlalchemy as sa
from flask import current_app, render_template
from markupsafe import escape

from app.catalog.models import Book
from app.core.formatting import when
from app.core.i18n import force_locale
from app.core.urls import external_url
from app.demand import tokens
from app.mail.outbox import enqueue_many

_NAME = "@@BS-NAME@@"
_UNSUBSCRIBE = "@@BS-UNSUBSCRIBE@@"
_TOKEN = "BS-TOKEN-SLOT"
_SLOTS = re.compile(f"({re.escape(_NAME)}|{re.escape(_UNSUBSCRIBE)})")


class ArrivalMails:
    """The mails of one arrival of one book: `add` one per reader, then `queue` them all."""

    def __init__(self, book: Book, *, on_shelf: int, hold_until: datetime | None,
                 now: datetime) -> None:
        self.book = book
        self.now = now
        self.mails: list[dict] = []
        self.hold_until = hold_until
        self._languages = set(current_app.config.get("LANGUAGES") or ())
        self._default_locale = current_app.config.get("BABEL_DEFAULT_LOCALE", "en")
        self._rendered: dict[tuple[str, int, str], tuple[str, str, str]] = {}
        self._base = {
            "shop_name": current_app.config["SHOP_NAME"],
            "book": book,
            "book_title": book.title,
            "book_authors": book.authors,
            "book_url": external_url("shop.book", book_id=book.id),
            "demands_url": external_url("demand.my_list"),
            "preferences_url": external_url("demand.preferences"),
            "on_shelf": on_shelf,
            "hold_until": None,
            "hold_hours": int(current_app.config.get("DEMAND_HOLD_HOURS", 48)),
            "name": _NAME,
            "unsubscribe_url": _UNSUBSCRIBE,
        }
        self._tokens = tokens.TokenMinter()
        # One URL build for the whole fan-out; tokens are URL-safe, so they slot straight in.
        self._url_head, _, self._url_tail = tokens.unsubscribe_url(_TOKEN).partition(_TOKEN)

    def _render(self, template: str, held: int, locale: str) -> tuple[str, str, str]:
        """Subject, and text and HTML bodies as format strings with {n} (name) and {u}
        (unsubscribe URL) slots: rendered once per template, held count and language."""
        key = (template, held, locale)
        if key not in self._rendered:
            with force_locale(locale):
                until = when(self.hold_until) if self.hold_until else None
                context = dict(self._base, held=held, hold_until=until)
                subject = " ".join(
                    render_template(f"mail/{template}/subject.txt", **context).split())
                text = render_template(f"mail/{template}/body.txt", **context)
                html = render_template(f"mail/{template}/body.html", **context)
            self._rendered[key] = (subject, _formatter(text), _formatter(html))
        return self._rendered[key]

    def add(self, row: sa.Row, kind: str, dedupe_key: str, *, held: int) -> None:
        """One reader's mail. `row` is a waiting reader as app.demand.allocation reads them;
        `kind` names the template too."""
        if row.member_id is not None:
            if not (row.stock_alerts_opt_in and row.is_active_account):
                return  # opted out: the demand list still shows it; no mail
            to_email, name = row.member_email, row.member_name
            token = self._tokens.for_member(row.member_id)
        else:
            to_email, name = row.email, ""
            token = self._tokens.for_email(row.email)
        url = self._url_head + token + self._url_tail
        locale = getattr(row, "member_locale", None)
        if locale not in self._languages:
            locale = self._default_locale
        subject, text, html = self._render(kind, held, locale)
        display = name or to_email
        self.mails.append({
            "kind": kind,
            "dedupe_key": dedupe_key,
            "to_email": to_email,
            "member_id": row.member_id,
            "subject": subject,
            "body_text": text.format(n=display, u=url),
            "body_html": html.format(n=escape(display), u=escape(url)),
            "headers": tokens.headers_for(url),
        })

    def queue(self) -> int:
        """Write every mail added to the outbox, due now; returns how many."""
        return enqueue_many(self.mails, now=self.now)


def _formatter(rendered: str) -> str:
    """A rendered body as a str.format template: braces doubled, placeholders as {n}/{u}."""
    slots = {_NAME: "{n}", _UNSUBSCRIBE: "{u}"}
    return "".join(slots.get(part) or part.replace("{", "{{").replace("}", "}}")
                   for part in _SLOTS.split(rendered))
