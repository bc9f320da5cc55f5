"""Shop: the public catalog (home, categories, search, book pages, covers)."""

from flask import Blueprint

bp = Blueprint("shop", __name__)

from app.catalog.web import views  # noqa: E402,F401
