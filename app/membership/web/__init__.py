"""Account: register, log in and out, profile, address, password and its reset."""

from flask import Blueprint

bp = Blueprint("account", __name__)

from app.membership.web import views  # noqa: E402,F401
