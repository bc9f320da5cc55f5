"""Feedback: the member rates the books of a delivered order and answers the satisfaction
question, from the invitation mail's signed link or from the order page."""

from flask import Blueprint

bp = Blueprint("feedback", __name__)

from app.feedback.web import views  # noqa: E402,F401
