"""axe-core in Chromium, bounded in time.

`axe.run()` is a promise the page may never settle: CI runs have hung on it with the browser
idle, and Playwright's `evaluate()` has no timeout of its own. So the run is started in the
page and its result awaited with `wait_for_function`, whose timeout Playwright keeps outside
the page: a page that never answers fails the test naming it, instead of hanging CI.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import pytest

AXE_SECONDS = 60
ROOT = Path(__file__).resolve().parents[2]


def find_tool(env: str, *candidates: Path) -> Path | None:
    """A checker's file: the path in the environment variable `env`, else the first of
    `candidates` that exists (npm's install in the project, or the shared cache .ci/run uses)."""
    if os.environ.get(env):
        return Path(os.environ[env])
    return next((path for path in candidates if path.exists()), None)


def axe_script_path() -> Path | None:
    """axe-core's script (npm axe-core), or None when it is not installed."""
    return find_tool("AXE_JS", ROOT / "node_modules/axe-core/axe.min.js",
                     Path.home() / ".cache/bookstation-node/node_modules/axe-core/axe.min.js")

AXE_RUN = """() => {
    if (window.__axeResult === undefined) {
        window.__axeResult = null;
        axe.run(document, {resultTypes: ['violations']}).then(
            r => { window.__axeResult = r.violations.map(v => [v.id, v.help,
                       v.nodes.slice(0, 3).map(n => n.target.join(' '))]); },
            e => { window.__axeResult = [['axe-error', String(e), []]]; });
    }
    return window.__axeResult; }"""

_FORGET = "() => { delete window.__axeResult; }"


def axe_violations(page, where: str, again: Callable[[], None] | None = None,
                   seconds: float = AXE_SECONDS) -> list:
    """axe's violations, as `[id, help, [targets]]`, on the page as it is now.

    A run that has not finished after `seconds` is tried once more, after `again()` (default:
    reload the page) has brought the page back to the state to be checked; a second such run
    fails the test naming `where`. The page must have axe loaded (an init script)."""
    from playwright.sync_api import TimeoutError as PlaywrightTimeout

    def run() -> list:
        page.evaluate(_FORGET)  # each call judges the page as it is now
        return page.wait_for_function(AXE_RUN, timeout=seconds * 1000,
                                      polling=20).json_value()

    try:
        return run()
    except PlaywrightTimeout:
        (again or page.reload)()
    try:
        return run()
    except PlaywrightTimeout as error:
        pytest.fail(f"axe did not finish on {where}, twice: {error}")
