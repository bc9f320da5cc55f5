"""Demand: the member's demand list, "tell me when it is in stock", requests for books we do
not carry, visitors' double opt-in, mail preferences and unsubscribe links."""

from flask import Blueprint

bp = Blueprint("demand", __name__)

from app.demand.web import views  # noqa: E402,F401
