"""The header's language switch (issue 6): a small CSRF-protected POST that remembers the choice."""

from flask import Blueprint

bp = Blueprint("i18n", __name__)

from app.serving.language import views  # noqa: E402,F401
