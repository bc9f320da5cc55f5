"""Every page is valid HTML and passes axe (issue 22).

The list of pages is built from the app's URL map: every GET rule, its arguments filled from
rows made here, opened by the reader it is for (a visitor, a member or the staff) in English
and in Chinese. Only responses that are no HTML page are left out, each with its reason
(NOT_HTML); a new GET route with an argument nobody fills fails the test until it is listed.

(a) The Nu HTML checker (`vnu-jar` from npm, run with Java) checks every page's source in one
    run: zero errors. (b) axe-core (npm) runs in Chromium on every page: zero violations.
Both are skipped, with the reason, when Java, vnu.jar or axe.min.js are missing, unless
REQUIRE_VALIDATORS=1 (.ci/run installs them and sets it).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import time
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from email.message import EmailMessage
from pathlib import Path

import pytest
import sqlalchemy as sa
from playwright.sync_api import expect

from app.analytics import satisfaction, snapshots
from app.campaigns import services as campaigns
from app.core.audit.record import record as audit
from app.core.extensions import db
from app.crm import customer_mail, mail_replies
from app.feedback import reviews
from app.models import Interaction, MailStatus, MailTemplate, OrderStatus, OutboxMail
from app.returns.requests import open_return_for
from app.support.cases import open_case
from app.webhooks.deliveries import send_test_event
from app.webhooks.endpoints import create_endpoint
from tests.browser.axe import ROOT, axe_script_path, axe_violations, find_tool
from tests.factories import (
    DEFAULT_PASSWORD,
    make_admin,
    make_book,
    make_category,
    make_demand,
    make_member,
    make_placed_order,
)
from tests.pages import log_in

LANGUAGES = ["en", "zh_Hans"]

NOT_HTML = {
    "static": "stylesheets, images: not pages",
    "shop.cover": "an SVG image",
    "health.healthz": "a health check for the load balancer (text)",
    "i18n.switch": "sets the language and redirects back",
    "admin.audit_csv": "a CSV download",
    "admin.customers_csv": "a CSV download",
    "admin.orders_csv": "a CSV download",
    "admin.demand_csv": "a CSV download",
    "admin.dashboard_csv": "a CSV download",
    "admin.customer_export_csv": "a CSV download",
    "admin.customer_export_json": "a JSON download",
    "admin.analytics_segments_csv": "a CSV download",
    "admin.satisfaction_csv": "a CSV download",
    "admin.tier_lookup": "a form target that redirects to the member's grade page",
    "admin.returns_report_csv": "a CSV download",
    "admin.case_figures_csv": "a CSV download",
    "api-docs.openapi_json": "the API's OpenAPI document (JSON; validated in tests/api)",
}
# The JSON API's resources answer JSON (tests/api: the OpenAPI document, Schemathesis); only
# its browsable docs page is HTML.
API_PREFIX = "/api/v1/"
API_HTML = {"api_docs.docs"}
# Pages axe does not judge, each with its reason (the Nu checker still reads them): none.
AXE_EXEMPT: dict[str, str] = {}
# Pages drawn by a script after they load: axe waits for what the script draws. The API docs
# are Swagger UI's (vendored), corrected by static/js/api-docs-a11y.js and static/css/api-docs.css.
RENDERED = {"api_docs.docs": "#swagger-ui .opblock .opblock-summary-control"}
# Arguments one endpoint reads differently from the rest (an information page's slug).
OVERRIDES = {"shop.info_page": {"slug": "privacy"},
             "admin.info_page_edit": {"slug": "privacy"}}

# who opens a page: the visitor unless listed (staff pages are the admin blueprint's)
MEMBER_PAGES = {"account.overview", "account.grade", "account.password", "account.profile",
                "account.sessions_list", "cart.checkout", "cart.orders", "cart.order_detail",
                "demand.my_list", "demand.preferences", "feedback.order_feedback",
                "support.my_cases", "support.my_case", "api_tokens.tokens",
                "returns.request_return"}
# pages a member sees differently (their header; the contact form without name and address)
ALSO_AS_MEMBER = {"shop.home", "shop.book", "cart.show", "support.contact"}
BAD_TOKEN = "not-a-valid-token"
# In the rows' values: arguments for one endpoint made from the rows (a signed link's token).
ENDPOINT_VALUES = "endpoint_values"


def _validators() -> tuple[str, Path, Path]:
    java = shutil.which("java")
    vnu = find_tool("VNU_JAR", ROOT / "node_modules/vnu-jar/build/dist/vnu.jar",
                    Path.home() / ".cache/bookstation-node/node_modules/vnu-jar/build/dist/vnu.jar")
    axe = axe_script_path()
    missing = [name for name, found in (("java", java), ("vnu.jar (npm vnu-jar)", vnu),
                                        ("axe.min.js (npm axe-core)", axe)) if not found]
    if missing:
        reason = f"validators missing: {', '.join(missing)} (see .ci/run)"
        if os.environ.get("REQUIRE_VALIDATORS"):
            pytest.fail(f"REQUIRE_VALIDATORS is set but {reason}")
        pytest.skip(reason)
    return java, vnu, axe


@pytest.fixture
def app_config(tmp_path):
    return {"MAIL_CATCHER_DIR": str(tmp_path / "mailbox")}


@pytest.fixture
def rows(live_app, tmp_path):
    """One of everything a page can show, and the values that fill the URL arguments."""
    with live_app.app_context():
        category = make_category(slug="fiction", name="Fiction")
        book = make_book(title="The Dispossessed", authors="Ursula K. Le Guin",
                         category_id=category.id, price=Decimal("9.99"), stock_on_hand=20,
                         isbn13="9780061054884", language="eng",
                         description="An ambiguous utopia.")
        gone = make_book(title="Out of Print", category_id=category.id, stock_on_hand=0)
        admin = make_admin(email="boss@example.test", name="Bea Boss")
        member = make_member(email="rita@example.test", name="Rita Reader",
                             phone="+86 138 0013 8000", mail_opt_in=True)
        now = datetime.now(UTC)
        order = make_placed_order(member, lines=[(book, 1)], status=OrderStatus.DELIVERED,
                                  placed_at=now - timedelta(days=40),
                                  delivered_at=now - timedelta(days=5))  # returnable
        make_placed_order(member, lines=[(book, 2)], status=OrderStatus.PAID,
                          placed_at=now - timedelta(days=3))
        reviews.save_review(member.id, book.id, 4, "A thoughtful book.")
        make_demand(member, gone)
        note = Interaction(member_id=member.id, staff_id=admin.id, kind="phone",
                           body="Asked about Le Guin", follow_up_on=now.date())
        db.session.add(note)
        db.session.add(MailTemplate(name="Hello", locale="en", subject="Hello {name}",
                                    body="Dear {name}, thank you."))
        db.session.flush()
        case = open_case(subject="Torn cover", body="The cover is torn.", member=member,
                         order=order)
        returned = open_return_for(order, admin, {order.lines[0].id: 1}, "damaged",
                                   "Torn cover")
        hook = create_endpoint("https://example.test/hooks", ["order.placed"], admin).endpoint
        delivery = send_test_event(hook.id, admin)
        mail = OutboxMail(kind="test", to_email=member.email, subject="Hello",
                          body_text="Hi", message_id="<1@test>", status=MailStatus.FAILED,
                          member_id=member.id)
        db.session.add(mail)
        entry = audit(admin.id, admin.email, "test.page", member, before={"name": "R"},
                      after={"name": "Rita Reader"}, summary="renamed")
        # For chosen customers: its page shows the list too (issue 21).
        campaign = campaigns.create(admin, name="Spring", subject="New books",
                                    message="Hello {name}", audience_kind="list",
                                    audience_value=None)
        # A mail from the record, answered once: its answer page shows the case it opened.
        record_mail = customer_mail.send_to_customer(
            member, admin, subject="Your book", body="Dear {name},\n\nIt is on its way.")
        answer_link = mail_replies.reply_token(record_mail, admin)
        mail_replies.answer(mail_replies.link_for_token(answer_link), "Thank you!")
        campaigns.add_to_list(campaign, admin, [member.id])
        db.session.flush()
        snapshots.recompute()
        satisfaction.compute_all()
        db.session.commit()
        values = {"book_id": book.id, "category_id": category.id, "slug": category.slug,
                  "member_id": member.id, "order_id": order.id, "mail_id": mail.id,
                  "entry_id": entry.id, "campaign_id": campaign.id, "code": "champions",
                  "token": BAD_TOKEN, "case_id": case.id, "interaction_id": note.id,
                  "template_id": db.session.scalar(sa.select(MailTemplate.id)),
                  "return_id": returned.id, "endpoint_id": hook.id,
                  "delivery_id": delivery.id, "locale": "zh_Hans",
                  # the answer page of a real link (a bad one shows the "link does not work"
                  # page, as support.reply_by_link's does)
                  ENDPOINT_VALUES: {"crm.mail_reply": {"token": answer_link}}}
    mailbox = tmp_path / "mailbox"
    mailbox.mkdir(exist_ok=True)
    message = EmailMessage()
    message["Subject"], message["From"], message["To"] = "Caught", "shop@example.test", "a@b.c"
    message.set_content("Plain text")
    message.add_alternative("<p>HTML part</p>", subtype="html")
    (mailbox / "0001-caught.eml").write_bytes(bytes(message))
    values["name"] = "0001-caught.eml"
    return values


def pages(app, values) -> list[tuple[str, str, str]]:
    """(reader, endpoint, path) for every GET page, from the URL map."""
    found = []
    unfilled = []
    with app.test_request_context():
        from flask import url_for

        for rule in sorted(app.url_map.iter_rules(), key=lambda r: r.rule):
            if "GET" not in rule.methods or rule.endpoint in NOT_HTML:
                continue
            if rule.rule.startswith(API_PREFIX) and rule.endpoint not in API_HTML:
                continue
            filled = {**values, **OVERRIDES.get(rule.endpoint, {}),
                      **values.get(ENDPOINT_VALUES, {}).get(rule.endpoint, {})}
            missing = [a for a in rule.arguments if a not in filled]
            if missing:
                unfilled.append((rule.rule, missing))
                continue
            path = url_for(rule.endpoint, **{a: filled[a] for a in rule.arguments})
            if rule.endpoint.startswith("admin."):
                readers = ["admin"]
            elif rule.endpoint in MEMBER_PAGES:
                readers = ["member"]
            else:
                readers = ["visitor"] + (["member"] if rule.endpoint in ALSO_AS_MEMBER else [])
            found += [(reader, rule.endpoint, path) for reader in readers]
    assert not unfilled, f"GET rules with arguments this test does not fill: {unfilled}"
    return found


def test_every_page_is_valid_html_and_passes_axe(live_app, live_server, browser, rows,
                                                 tmp_path):
    java, vnu, axe_js = _validators()
    started = time.monotonic()
    listed = pages(live_app, rows)
    out = tmp_path / "pages"
    out.mkdir()

    clients = {"visitor": live_app.test_client(), "member": live_app.test_client(),
               "admin": live_app.test_client()}
    log_in(clients["member"], "rita@example.test")
    log_in(clients["admin"], "boss@example.test")
    clients["member"].post(  # the checkout needs a book in the cart
        "/cart/add", data={"book_id": rows["book_id"], "quantity": 1})

    files: dict[str, tuple[str, str, str]] = {}
    refused = []
    for lang in LANGUAGES:
        for client in clients.values():
            client.set_cookie("lang", lang)
        for reader, _endpoint, path in listed:
            response = clients[reader].get(path)
            if response.status_code >= 500 or response.mimetype != "text/html":
                refused.append((lang, reader, path, response.status_code, response.mimetype))
                continue
            name = f"{lang}-{reader}-{len(files):03d}.html"
            (out / name).write_bytes(response.data)
            files[name] = (lang, reader, path)
    assert not refused, refused

    # (a) the Nu HTML checker, once over every page
    run = subprocess.run([java, "-Xss4m", "-jar", str(vnu), "--errors-only", "--format", "json",
                          *sorted(str(out / n) for n in files)],
                         capture_output=True, text=True, timeout=120)
    messages = json.loads(run.stderr or run.stdout or '{"messages": []}')["messages"]
    errors = sorted({(files[Path(m["url"]).name][2] if Path(m.get("url", "")).name in files
                      else m.get("url"), m["message"]) for m in messages
                     if m.get("type") == "error" or m.get("subType") == "fatal"})
    checked_html = time.monotonic()

    # (b) axe in Chromium: one logged-in browser per reader
    contexts = {}
    script = axe_js.read_text()
    for reader in ("visitor", "member", "admin"):
        context = browser.new_context(base_url=live_server, bypass_csp=True)
        if reader != "visitor":
            page = context.new_page()
            page.goto("/account/login")
            page.get_by_label("Email").fill(
                "rita@example.test" if reader == "member" else "boss@example.test")
            page.get_by_label("Password").fill(DEFAULT_PASSWORD)
            page.get_by_role("button", name="Log in").click()
            page.wait_for_load_state("load")
            if reader == "member":
                page.goto(f"/book/{rows['book_id']}")
                page.get_by_role("button", name="Add to cart").click()
                # The add's redirect has landed before the tab closes: a close while that
                # navigation was in flight hung in Chromium (page.close has no timeout).
                # Two copies: the test client put one in the member's cart above.
                expect(page.get_by_test_id("cart-count")).to_have_text("2")
            page.close()
        context.add_init_script(script=script)  # sent once; no 500 kB per page
        contexts[reader] = context
    violations = []
    for lang in LANGUAGES:
        for context in contexts.values():
            context.add_cookies([{"name": "lang", "value": lang, "url": live_server}])
        tabs = {reader: context.new_page() for reader, context in contexts.items()}
        for reader, endpoint, path in listed:
            if endpoint in AXE_EXEMPT:
                continue
            page = tabs[reader]
            page.goto(path)
            if endpoint in RENDERED:
                page.locator(RENDERED[endpoint]).first.wait_for()
            violations += [(lang, reader, path, *v) for v in axe_violations(page, path)]
        for tab in tabs.values():
            tab.close()
    for context in contexts.values():
        context.close()
    finished = time.monotonic()

    print(f"\n{len(files)} pages: vnu {checked_html - started:.1f} s, "
          f"axe {finished - checked_html:.1f} s")
    assert not errors, "Nu HTML checker errors:\n" + "\n".join(f"{p}: {m}" for p, m in errors)
    assert not violations, "axe violations:\n" + "\n".join(map(str, violations))
