"""The axe helper the page checks use is bounded in time: an axe run that never settles fails
the test naming the page (after one retry), instead of hanging CI as `evaluate()` did."""

from __future__ import annotations

import pytest

from tests.browser.axe import axe_violations

NEVER_SETTLES = "window.axe = {run: () => new Promise(() => {})};"
FINDS_ONE = """window.axe = {runs: 0, run: async function () { this.runs += 1;
    return {violations: [{id: 'region', help: 'In a landmark',
                          nodes: [{target: ['main', 'p']}]}]}; }};"""


@pytest.fixture
def blank(browser):
    context = browser.new_context()
    page = context.new_page()
    page.set_default_timeout(5_000)
    yield page
    context.close()


def test_an_axe_run_that_never_settles_fails_naming_the_page_after_one_retry(blank):
    blank.set_content(f"<main><p>Hello</p></main><script>{NEVER_SETTLES}</script>")
    retried = []

    with pytest.raises(pytest.fail.Exception, match="axe did not finish on the test page"):
        axe_violations(blank, "the test page", again=lambda: retried.append(True), seconds=0.5)

    assert retried == [True]


def test_violations_come_back_as_id_help_and_targets_and_each_call_runs_axe_anew(blank):
    blank.set_content(f"<main><p>Hello</p></main><script>{FINDS_ONE}</script>")

    assert axe_violations(blank, "here") == [["region", "In a landmark", ["main p"]]]
    assert axe_violations(blank, "here") == [["region", "In a landmark", ["main p"]]]
    assert blank.evaluate("axe.runs") == 2
