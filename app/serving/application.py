"""The shop's Flask class: Flask, with `ensure_sync` answering from what it found before.

Flask passes every function it calls for a request through `Flask.ensure_sync` (a before- and
after-request hook, a context processor, a teardown, the view): each call asks
`inspect.iscoroutinefunction` afresh, some fifteen times a request. Whether a function is a
coroutine function does not change, so `ShopFlask` remembers the plain functions it was given
and hands them back at once; an `async def` function goes to Flask's own `ensure_sync` every
time (the shop has none). `ensure_sync` is the method Flask documents for overriding.

Its URL rules are `library_internals.BuildersOnceRule` (Flask's `url_rule_class`): each rule's
URL builder is compiled when the rule first builds a URL, once per process.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import Flask

from app.serving.library_internals import BuildersOnceRule

#: At most this many functions are remembered (the app registers some two hundred; a caller
#: that passed a new function each time would otherwise grow the set without end).
REMEMBERED_AT_MOST = 4_096


class ShopFlask(Flask):
    """Flask with `ensure_sync` remembered per function and URL builders compiled at their
    first use, once per process (see the module's docstring)."""

    url_rule_class = BuildersOnceRule

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._known_sync: set[Callable[..., Any]] = set()

    def ensure_sync(self, func: Callable[..., Any]) -> Callable[..., Any]:
        known = self._known_sync
        try:
            if func in known:
                return func
        except TypeError:  # not hashable: ask Flask
            return super().ensure_sync(func)
        synced = super().ensure_sync(func)
        if synced is func and len(known) < REMEMBERED_AT_MOST:
            known.add(func)
        return synced
