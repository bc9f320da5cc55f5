"""Returns: the member asks to return books of a delivered order, from the order page."""

from flask import Blueprint

bp = Blueprint("returns", __name__)

from app.returns.web import views  # noqa: E402,F401
