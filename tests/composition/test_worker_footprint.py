"""A web worker holds only what serving needs: the shop's pages never import numpy (the
analytics import it at first use: app.core.lazy) nor Alembic (a SERVE_ONLY app skips
Flask-Migrate). Each was about a tenth of a worker's memory (bench/README.md)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

SCRIPT = """
import json, sys
from werkzeug.test import Client
import run
from app.catalog import search_index
from app.core.extensions import db
with run.app.app_context():  # the schema from the models (tests/conftest.py does the same)
    db.create_all()
    with db.engine.begin() as conn:
        search_index.install(conn)
client = Client(run.app)
statuses = [client.get(path).status_code for path in sys.argv[1:]]
print(json.dumps({"statuses": statuses,
                  "heavy": sorted(m for m in ("numpy", "scipy", "alembic") if m in sys.modules)}))
"""


def test_serving_the_shop_imports_no_analytics_library(tmp_path):
    env = {**os.environ, "BOOKSTATION_ENV": "production", "BOOKSTATION_SERVE_ONLY": "1",
           "SECRET_KEY": "footprint-test", "DATABASE_URL": f"sqlite:///{tmp_path / 'shop.db'}",
           "LOG_LEVEL": "error", "PAGE_CACHE_SECONDS": "0"}
    env.pop("REDIS_URL", None)
    pages = ["/", "/search?q=tale", "/category/none", "/book/1", "/cart", "/account/login",
             "/healthz"]

    result = subprocess.run([sys.executable, "-c", SCRIPT, *pages], cwd=ROOT, env=env,
                            capture_output=True, text=True, timeout=120)

    assert result.returncode == 0, result.stderr[-2000:]
    answer = json.loads(result.stdout.strip().splitlines()[-1])
    assert all(status < 500 for status in answer["statuses"]), answer
    assert answer["heavy"] == []
