"""A listing form's selects (sort, category) accept exactly the choices WTForms' SelectField
accepts, with its message for any other; an empty value means the default."""

from __future__ import annotations

import pytest
from werkzeug.datastructures import MultiDict
from wtforms import Form, SelectChoice, SelectField

from app.catalog.web.forms import SEARCH_SORTS, LenientSelectField, SearchForm

NUMBERS = [SelectChoice("1", "One"), SelectChoice("2", "Two")]


class Lenient(Form):
    sort = LenientSelectField(choices=SEARCH_SORTS, default="relevance")
    number = LenientSelectField(choices=NUMBERS, coerce=int, default=1)
    later = LenientSelectField(choices=lambda: NUMBERS, default="1")


class Strict(Form):
    sort = SelectField(choices=SEARCH_SORTS, default="relevance")
    number = SelectField(choices=NUMBERS, coerce=int, default=1)
    later = SelectField(choices=lambda: NUMBERS, default="1")


@pytest.mark.parametrize("query", [
    {"sort": "newest"}, {"sort": "evil"}, {"sort": "Newest"}, {"number": "2"}, {"number": "3"},
    {"number": "two"}, {"later": "1"}, {"later": "9"},
])
def test_a_value_is_accepted_or_refused_as_a_select_field_does(app, query):
    with app.test_request_context():
        lenient, strict = Lenient(MultiDict(query)), Strict(MultiDict(query))

        assert lenient.validate() == strict.validate()
        assert lenient.errors == strict.errors


def test_an_empty_value_is_the_default_not_an_error(app):
    with app.test_request_context():
        form = Lenient(MultiDict({"sort": "", "number": ""}))

        assert form.validate(), form.errors
        assert (form.sort.data, form.number.data) == ("relevance", 1)


def test_a_search_for_a_category_not_on_offer_is_refused(app):
    with app.test_request_context():
        form = SearchForm(MultiDict({"q": "zola", "category": "poetry"}))
        form.set_categories([("fiction", "Fiction")])

        assert not form.validate()
        assert form.errors == {"category": ["Not a valid choice."]}
