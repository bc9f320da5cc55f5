"""The shop's Flask class (app.serving.application.ShopFlask): `ensure_sync` asks whether a
function is a coroutine function once per function, and answers as Flask does."""

from __future__ import annotations

import flask.app
import pytest
from flask import Flask

from app.serving import application
from app.serving.application import ShopFlask


@pytest.fixture
def coroutine_checks(monkeypatch) -> list:
    """Every function Flask's own `ensure_sync` asks about, in order."""
    asked: list = []
    real = flask.app.iscoroutinefunction

    def counting(func) -> bool:
        asked.append(func)
        return real(func)

    monkeypatch.setattr(flask.app, "iscoroutinefunction", counting)
    return asked


def test_the_shop_runs_on_shop_flask(app):
    assert isinstance(app, ShopFlask) and isinstance(app, Flask)


def test_a_page_asks_about_its_hooks_and_view_only_on_the_first_request(app, client,
                                                                       coroutine_checks):
    assert client.get("/account/login").status_code == 200
    first = len(coroutine_checks)
    assert first >= 10  # the view, the before- and after-request hooks, the context processors
    assert client.get("/account/login").status_code == 200
    assert len(coroutine_checks) == first


def test_a_plain_function_is_handed_back_as_it_is(app):
    def view() -> str:
        return "plain"

    assert app.ensure_sync(view) is view
    assert app.ensure_sync(view) is view


def test_a_coroutine_function_is_left_to_flask_every_time(app, coroutine_checks):
    async def view() -> str:
        return "async"

    for _ in range(2):
        with pytest.raises(RuntimeError, match="async"):  # Flask's: the 'async' extra is needed
            app.ensure_sync(view)
    assert coroutine_checks == [view, view]


def test_an_unhashable_callable_is_left_to_flask(app, coroutine_checks):
    class Unhashable:
        __hash__ = None

        def __call__(self) -> str:
            return "called"

    view = Unhashable()
    assert app.ensure_sync(view) is view
    assert app.ensure_sync(view) is view
    assert coroutine_checks == [view, view]


def test_no_more_functions_are_remembered_than_the_limit(app, monkeypatch, coroutine_checks):
    monkeypatch.setattr(application, "REMEMBERED_AT_MOST", len(app._known_sync) + 2)
    functions = [lambda n=n: n for n in range(5)]
    for function in functions:
        assert app.ensure_sync(function) is function
    assert len(app._known_sync) == application.REMEMBERED_AT_MOST
    coroutine_checks.clear()
    for function in functions:
        app.ensure_sync(function)
    assert coroutine_checks == functions[2:]  # the first two were remembered
