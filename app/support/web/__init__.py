"""Support pages: "Contact us", a member's cases and their threads, and the pages the case
mails link to (answer a reply, the satisfaction question)."""

from flask import Blueprint

bp = Blueprint("support", __name__)

from app.support.web import views  # noqa: E402,F401
