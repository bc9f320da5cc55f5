"""The admin lists' filter forms are rendered once per query string and language
(app.serving.page_cache.filter_form), and never show anything stale or someone else's input."""

from __future__ import annotations

import re
from contextlib import contextmanager

import pytest
from flask import template_rendered

from app.core.extensions import db
from app.crm import tags as customer_tags
from tests.factories import make_member

FILTERS = "admin/customers/_filters.html"


@contextmanager
def rendered_templates(app):
    names: list[str] = []

    def record(sender, template, context, **extra):
        names.append(template.name)

    template_rendered.connect(record, app)
    try:
        yield names
    finally:
        template_rendered.disconnect(record, app)


@pytest.fixture
def as_staff(app, staff):
    with app.app_context():
        make_member(email="rita@example.test", name="Rita Reader")
        db.session.commit()
    return staff


def search_box(html: str) -> str:
    filters = re.search(r'<form class="admin-filters".*?</form>', html, re.S).group(0)
    return re.search(r'<input[^>]*name="q"[^>]*>', filters).group(0)


def test_the_same_query_renders_its_filter_form_once_and_another_query_again(app, as_staff):
    with rendered_templates(app) as names:
        first = as_staff.get("/admin/customers?q=rita").get_data(as_text=True)
        second = as_staff.get("/admin/customers?q=rita").get_data(as_text=True)
        other = as_staff.get("/admin/customers?q=clara&sort=joined").get_data(as_text=True)

    assert names.count(FILTERS) == 2  # rita once, clara once
    assert 'value="rita"' in search_box(first) and 'value="rita"' in search_box(second)
    assert 'value="clara"' in search_box(other)
    assert re.search(r'<option selected value="joined">|<option value="joined" selected',
                     other)


def test_a_tag_created_after_the_form_was_kept_is_offered_at_once(app, as_staff):
    as_staff.get("/admin/customers")
    with app.app_context():
        customer_tags.get_or_create("wholesale")
        db.session.commit()

    page = as_staff.get("/admin/customers").get_data(as_text=True)

    assert ">wholesale</option>" in page


def test_the_kept_form_follows_the_readers_language(app, as_staff):
    as_staff.get("/admin/customers")
    as_staff.get("/language/zh_Hans")

    page = as_staff.get("/admin/customers").get_data(as_text=True)

    assert ">标签</label>" in page


def test_a_wrong_filter_shows_its_error_and_the_next_request_does_not(app, as_staff):
    wrong = as_staff.get("/admin/customers?joined_from=2025-05-01&joined_to=2025-04-01")
    right = as_staff.get("/admin/customers?joined_from=2025-05-01")

    assert wrong.status_code == 400
    assert 'class="error"' in wrong.get_data(as_text=True)
    assert right.status_code == 200
    assert 'class="error"' not in right.get_data(as_text=True)
    assert 'value="2025-05-01"' in right.get_data(as_text=True)
