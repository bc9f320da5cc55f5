"""The API's browsable docs (Swagger UI, served by the shop itself) work in real Chromium
under the shop's Content-Security-Policy: the operations are listed, nothing is blocked, and
nothing is fetched from another origin."""

from __future__ import annotations

from tests.browser.test_content_security_policy import LISTEN


def test_the_api_docs_list_the_operations_with_nothing_blocked(page, live_server):
    page.add_init_script(LISTEN)
    console: list[str] = []
    page.on("console", lambda message: console.append(message.text)
            if message.type == "error" else None)
    elsewhere: list[str] = []
    page.on("request", lambda request: elsewhere.append(request.url)
            if not request.url.startswith(live_server) else None)

    page.goto("/api/v1/docs")
    page.get_by_text("/api/v1/stock/receipts").first.wait_for()

    assert page.locator(".opblock").count() >= 20
    assert page.evaluate("window.__violations") == []
    assert [text for text in console if "Content Security Policy" in text] == []
    assert [url for url in elsewhere if not url.startswith("data:")] == []
