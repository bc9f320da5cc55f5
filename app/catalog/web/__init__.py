"""Shop: the public catalog (home, categories, search, book pages, covers) and the shop's
information pages."""

from flask import Blueprint

bp = Blueprint("shop", __name__)

from app.catalog.web import info, views  # noqa: E402,F401
