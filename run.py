"""Entry point: `flask --app run <command>` and `gunicorn run:app`."""

import sqlalchemy as sa

from app import create_app, models
from app.core.extensions import db

app = create_app()


@app.shell_context_processor
def shell_context() -> dict:
    return {"db": db, "sa": sa, **{name: getattr(models, name) for name in models.__all__}}
