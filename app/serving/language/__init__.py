"""The header's language switch: plain links that remember the reader's choice (see views)."""

from flask import Blueprint

bp = Blueprint("i18n", __name__)

from app.serving.language import views  # noqa: E402,F401
