"""gunicorn.conf.py's worker hooks: a ready worker keeps the app out of the garbage collector's
full passes (they stopped a request for 100-130 ms every few thousand; bench/README.md)."""

from __future__ import annotations

import gc
import runpy
from pathlib import Path

from app.core.extensions import db

CONF = Path(__file__).resolve().parents[2] / "gunicorn.conf.py"


def test_a_ready_worker_freezes_what_it_holds_so_a_full_collection_skips_it(
        app, client, monkeypatch):
    monkeypatch.setenv("BOOKSTATION_SERVE_ONLY", "1")  # the file sets it; undone after
    hooks = runpy.run_path(str(CONF))
    assert client.get("/").status_code == 200  # the app as a worker holds it: built and used
    with app.app_context():
        db.engine.dispose()
    gc.collect()
    old = len(gc.get_objects(generation=2))
    try:
        hooks["post_worker_init"](None)

        assert gc.get_freeze_count() >= old
        assert len(gc.get_objects(generation=2)) < old // 100
    finally:
        gc.unfreeze()
