"""gunicorn.conf.py: a ready worker keeps the app out of the garbage collector's full passes
(they stopped a request for 100-130 ms every few thousand; bench/README.md), and the server
writes the app's bytecode before it imports the app."""

from __future__ import annotations

import gc
import importlib.util
import os
import runpy
from importlib.machinery import SourcelessFileLoader
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


def _checkout(root: Path) -> list[Path]:
    """A small stand-in for the project: a package `app` with a subpackage, config.py, run.py."""
    sources = [root / "app" / "__init__.py", root / "app" / "part" / "__init__.py",
               root / "app" / "part" / "views.py", root / "config.py", root / "run.py"]
    for source in sources:
        source.parent.mkdir(parents=True, exist_ok=True)
        source.write_text(f"NAME = {source.name!r}\n")
    return sources


def test_the_server_writes_the_apps_bytecode_before_importing_it_whatever_the_environment_says(
        tmp_path, monkeypatch):
    monkeypatch.setenv("BOOKSTATION_SERVE_ONLY", "1")
    monkeypatch.setattr("sys.dont_write_bytecode", True)  # PYTHONDONTWRITEBYTECODE=1
    compile_app = runpy.run_path(str(CONF))["compile_app"]
    sources = _checkout(tmp_path)

    assert compile_app(tmp_path) is True
    for source in sources:
        assert Path(importlib.util.cache_from_source(str(source))).is_file(), source
    written = Path(importlib.util.cache_from_source(str(sources[2]))).stat().st_mtime_ns

    sources[2].write_text("NAME = 'changed'\n")  # an edited module is compiled again
    os.utime(sources[2], ns=(written + 2_000_000_000, written + 2_000_000_000))
    assert compile_app(tmp_path) is True
    compiled = Path(importlib.util.cache_from_source(str(sources[2])))
    assert compiled.stat().st_mtime_ns > written
    namespace: dict = {}
    exec(SourcelessFileLoader("views", str(compiled)).get_code("views"), namespace)
    assert namespace["NAME"] == "changed"


def test_a_checkout_where_nothing_can_be_written_still_starts(tmp_path, monkeypatch):
    monkeypatch.setenv("BOOKSTATION_SERVE_ONLY", "1")
    compile_app = runpy.run_path(str(CONF))["compile_app"]
    _checkout(tmp_path)
    (tmp_path / "app" / "__pycache__").write_text("a file where the folder would go")

    assert compile_app(tmp_path) is False  # no error: the modules compile in memory instead
