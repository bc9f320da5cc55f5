"""Cart, checkout and the member's own orders."""

from flask import Blueprint

bp = Blueprint("cart", __name__)

from app.ordering.web import views  # noqa: E402,F401
