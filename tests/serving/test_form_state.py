"""A form's state as a key for kept fragments (app.serving.page_cache.form_state): for a select
whose choices are a list of SelectChoice it reads that list instead of building every option
with `iter_choices()`, and gives exactly what `iter_choices()` would."""

from __future__ import annotations

import pytest
from werkzeug.datastructures import MultiDict
from wtforms import Form, RadioField, SelectChoice, SelectField, SelectMultipleField, StringField

from app.core.i18n import lazy_gettext as _l
from app.serving.page_cache import form_state

SORTS = [SelectChoice("relevance", _l("Relevance")), SelectChoice("newest", _l("Newest")),
         SelectChoice("2", "Two")]


class Shouting(SelectField):
    """A select that shows its labels in capitals: its own iter_choices, which form_state
    must ask."""

    def iter_choices(self):
        return [choice._replace(label=str(choice.label).upper())
                for choice in super().iter_choices()]


class Filters(Form):
    sort = SelectField(choices=SORTS, default="relevance")
    number = SelectField(choices=SORTS, coerce=lambda value: str(value).upper())
    radio = RadioField(choices=SORTS)
    several = SelectMultipleField(choices=SORTS)
    grouped = SelectField(choices=[SelectChoice("a", "A", optgroup="Letters"),
                                   SelectChoice("b", "B", optgroup="Letters")])
    shouting = Shouting(choices=SORTS)
    later = SelectField(choices=lambda: [SelectChoice("x", "X"), SelectChoice("y", "Y")])
    q = StringField()


def by_iter_choices(field) -> tuple:
    """What form_state held for a field's choices before it read SelectChoice lists."""
    return tuple((str(value), str(label), selected)
                 for value, label, selected, *_ in field.iter_choices())


@pytest.mark.parametrize("query", [
    {}, {"sort": "newest"}, {"sort": "nonsense"}, {"number": "newest"}, {"radio": "2"},
    {"several": ["newest", "2"]}, {"grouped": "b"}, {"later": "y"}, {"shouting": "newest"},
    {"q": "dragon"},
])
def test_each_field_s_choices_are_those_iter_choices_gives(app, query):
    with app.test_request_context():
        form = Filters(MultiDict(query))
        form.validate()

        state = form_state(form)

        for field, (name, _data, _typed, _errors, choices) in zip(form, state, strict=True):
            assert name == field.name
            assert choices == (by_iter_choices(field) if hasattr(field, "iter_choices") else ())


def test_a_select_with_its_own_iter_choices_is_asked(app):
    with app.test_request_context():
        (_name, _data, _typed, _errors, choices), = form_state([Filters().shouting])

    assert ("newest", "NEWEST", False) in choices


def test_the_selected_choice_and_the_labels_language_are_in_the_key(app):
    with app.test_request_context():
        newest = form_state([Filters(MultiDict({"sort": "newest"})).sort])
        relevance = form_state([Filters(MultiDict({"sort": "relevance"})).sort])
    with app.test_request_context(headers={"Accept-Language": "zh-CN"}):
        chinese = form_state([Filters(MultiDict({"sort": "newest"})).sort])

    assert newest != relevance
    assert ("newest", "Newest", True) in newest[0][4]
    assert chinese != newest  # the labels in Chinese
