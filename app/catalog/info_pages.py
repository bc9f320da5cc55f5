"""The shop's information pages (shipping and returns, privacy, terms), one text per language,
written by the admins.

A page is shown in the reader's language, else in English. Its body is plain text in a small,
safe format (`render_body`): blank lines between paragraphs, "## " starts a heading, "- " a
list item, **double stars** make text bold; everything is escaped, so no HTML typed into a page
ever reaches a reader. Saving a page flushes, never commits, and is audited
("info_page.create", "info_page.update") by the admin who saved it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import sqlalchemy as sa
from flask_babel import gettext as _
from markupsafe import Markup, escape

from app.catalog.editing import FieldError
from app.catalog.models import InfoPage
from app.core.audit import record as audit
from app.core.errors import NotFound
from app.core.extensions import db
from app.core.i18n import LANGUAGE_NAMES
from app.core.i18n import lazy_gettext as _l
from app.membership.models import Member

# The pages there are, in the footer's order, with the admin's name for each.
SLUGS: dict[str, object] = {
    "shipping-returns": _l("Shipping and returns"),
    "privacy": _l("Privacy"),
    "terms": _l("Terms of sale"),
}
DEFAULT_LOCALE = "en"
LIMITS = {"title": 200, "summary": 300, "body": 50_000}
PAGE_FIELDS = ("title", "summary", "body")

_BOLD = re.compile(r"\*\*(.+?)\*\*")


@dataclass(frozen=True)
class PageInput:
    title: str
    summary: str
    body: str


def page_for(slug: str, locale: str | None) -> InfoPage:
    """The page `slug` in `locale`, else in English; NotFound when there is neither."""
    if slug not in SLUGS:
        raise NotFound(_("There is no such page."))
    pages = {p.locale: p for p in db.session.scalars(
        sa.select(InfoPage).where(InfoPage.slug == slug,
                                  InfoPage.locale.in_({locale or DEFAULT_LOCALE,
                                                       DEFAULT_LOCALE})))}
    page = pages.get(locale or DEFAULT_LOCALE) or pages.get(DEFAULT_LOCALE)
    if page is None:
        raise NotFound(_("There is no such page."))
    return page


def stored_page(slug: str, locale: str) -> InfoPage | None:
    """The page as stored in exactly that language (for the admin's form), or None."""
    return db.session.scalar(
        sa.select(InfoPage).where(InfoPage.slug == slug, InfoPage.locale == locale))


def pages_by_slug_and_locale() -> dict[tuple[str, str], InfoPage]:
    return {(p.slug, p.locale): p for p in db.session.scalars(sa.select(InfoPage))}


def save_page(slug: str, locale: str, data: PageInput, actor: Member | None) -> InfoPage:
    """Create or change the page `slug` in `locale`, audited; FieldError for a field empty or
    too long, NotFound for a page or language the shop does not have."""
    if slug not in SLUGS or locale not in LANGUAGE_NAMES:
        raise NotFound(_("There is no such page."))
    values = {}
    for name in PAGE_FIELDS:
        text = (getattr(data, name) or "").strip().replace("\r\n", "\n")
        if not text and name != "summary":
            raise FieldError(name, _("This field is required."))
        if len(text) > LIMITS[name]:
            raise FieldError(name, _("At most %(max)d characters, please.", max=LIMITS[name]))
        values[name] = text
    page = stored_page(slug, locale)
    action = "info_page.update"
    before = None
    if page is None:
        page = InfoPage(slug=slug, locale=locale)
        db.session.add(page)
        action = "info_page.create"
    else:
        before = audit.snapshot(page, PAGE_FIELDS)
    for name, value in values.items():
        setattr(page, name, value)
    db.session.flush()
    audit.record(actor.id if actor else None, actor.email if actor else None, action, page,
                 before=before, after=audit.snapshot(page, PAGE_FIELDS),
                 summary=f"Saved the page “{slug}” ({locale})")
    return page


def render_body(text: str) -> Markup:
    """The body's HTML: escaped text in paragraphs (a blank line between them; the lines of
    one are joined by a space), a "## " heading at the start of a block (h2), "- " list items
    and **bold**; nothing typed can become markup of its own."""
    html: list[str] = []
    for block in re.split(r"\n\s*\n", (text or "").replace("\r\n", "\n").strip()):
        lines = [line.strip() for line in block.split("\n") if line.strip()]
        if not lines:
            continue
        if lines[0].startswith("## "):
            html.append(f"<h2>{_inline(lines[0][3:])}</h2>")
            lines = lines[1:]
        if lines and lines[0].startswith("- "):
            items: list[str] = []
            for line in lines:  # a line without "- " continues the item above
                if line.startswith("- ") or not items:
                    items.append(line.removeprefix("- "))
                else:
                    items[-1] += " " + line
            html.append("<ul>" + "".join(f"<li>{_inline(i)}</li>" for i in items) + "</ul>")
        elif lines:
            html.append(f"<p>{_inline(' '.join(lines))}</p>")
    return Markup("\n".join(html))


def _inline(text: str) -> str:
    return _BOLD.sub(lambda m: f"<strong>{m.group(1)}</strong>", str(escape(text.strip())))
