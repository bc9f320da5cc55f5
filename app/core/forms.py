"""The project's base form: Flask-WTF's, with WTForms' own messages translated from a cache.

Flask-WTF loads WTForms' translation catalogue (`wtforms.mo`) from disk in every request that
builds a form: a field without an explicit label asks for its translated default label when
the form is built. The catalogue never changes while the process runs, so it is loaded once
per language here.
"""

from __future__ import annotations

import re
from decimal import Decimal
from functools import lru_cache

from babel import support
from flask import current_app
from flask_wtf import FlaskForm
from wtforms import (
    DecimalField,
    FieldList,
    FormField,
    HiddenField,
    SelectChoice,
    SelectField,
    TextAreaField,
)
from wtforms.i18n import messages_path
from wtforms.widgets import TextInput

from app.core.i18n import lazy_gettext as _l
from app.core.i18n import locale_name


def listed_choices(field) -> list[SelectChoice] | None:
    """A select's choices as given, when they are a list of SelectChoice that the field lists
    with SelectField's own `iter_choices()`, so that each option it lists follows from its
    SelectChoice: the value, the label, and selected when `coerce(value) == data`. None for
    anything else. WTForms 3.3 builds a Choice for every option each time a select is
    validated or listed; a listing's selects are checked and keyed on this list instead
    (app.catalog.web.forms.LenientSelectField, app.serving.page_cache.form_state)."""
    if not isinstance(field, SelectField) or type(field).iter_choices is not (
            SelectField.iter_choices):
        return None
    choices = field.choices
    if type(choices) is list and all(type(choice) is SelectChoice for choice in choices):
        return choices
    return None


@lru_cache(maxsize=16)
def _catalogue(locale: str) -> support.Translations:
    return support.Translations.load(messages_path(), [locale], domain="wtforms")


class _Translations:
    """WTForms' messages in the request's language (what Flask-WTF's own object returns)."""

    def gettext(self, string: str) -> str:
        return _catalogue(locale_name()).ugettext(string)

    def ngettext(self, singular: str, plural: str, n: int) -> str:
        return _catalogue(locale_name()).ungettext(singular, plural, n)


_TRANSLATIONS = _Translations()


# --------------------------------------------------------------------------- control characters

# C0 and C1 control characters and DEL: nobody types them, a NUL byte is refused by PostgreSQL
# (and ended SQLite's full-text query, and so the CSV exports, with a 500), and a line break in
# a one-line field would reach mail headers and redirects. A text area keeps its line breaks
# and tabs.
LINE_CONTROLS = re.compile(r"[\x00-\x1f\x7f-\x9f]")
TEXT_CONTROLS = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")
CONTROL_MESSAGE = _l("Remove the invisible control characters (such as a NUL byte) from this "
                     "field.")


def _leaf_fields(form):
    """Every field of a form, inside its FormFields and FieldLists too."""
    for field in form:
        if isinstance(field, FormField):
            yield from _leaf_fields(field.form)
        elif isinstance(field, FieldList):
            for entry in field.entries:
                if isinstance(entry, FormField):
                    yield from _leaf_fields(entry.form)
                else:
                    yield entry
        else:
            yield field


class RefuseControlCharacters:
    """Mixin for a WTForms form: text with control characters is cleaned of them and the field
    reports the error, so a view never hands them on, whether it validates the form or not.
    A hidden field's value is dropped instead, without a message."""

    def process(self, *args, **kwargs) -> None:
        super().process(*args, **kwargs)  # type: ignore[misc]
        for field in _leaf_fields(self):
            controls = TEXT_CONTROLS if isinstance(field, TextAreaField) else LINE_CONTROLS
            raw = field.raw_data or []
            if not any(isinstance(value, str) and controls.search(value) for value in raw) \
                    and not (isinstance(field.data, str) and controls.search(field.data)):
                continue
            if isinstance(field, HiddenField):
                # Nobody typed it and nobody would see its message: the value is dropped (a
                # `next` goes to the default page, a missing token is refused as such).
                field.raw_data, field.data = [], ""
                continue
            field.raw_data = [controls.sub("", value) if isinstance(value, str) else value
                              for value in raw]
            if isinstance(field.data, str):
                field.data = controls.sub("", field.data)
            field.process_errors = [CONTROL_MESSAGE]  # the one message that says what is wrong


# --------------------------------------------------------------------------- numbers

NUMBER = re.compile(r"([+-]?)(\d*)(?:\.(\d*))?")
MAX_FRACTION_DIGITS = 10


class DecimalInput(DecimalField):
    """A decimal typed into a form, parsed strictly: digits with an optional point and sign.

    Refused with `message` (the field's own "enter a number such as ..."): exponents (1e309),
    inf and nan, minus zero, more than `digits` digits before the point or
    MAX_FRACTION_DIGITS after it (no number the cents column or a quantize could not hold).
    A negative number is parsed, for the field's range check to refuse with its own message.
    Blank is None. `thousands` drops commas (1,000.50). What was typed is shown back on
    errors (WTForms keeps raw_data)."""

    # Typed as text (issue 22): the number input's `step` is invalid on the text inputs the
    # forms show (a number input would refuse "1,000.50" and round in the browser).
    widget = TextInput()

    def __init__(self, label=None, validators=None, places=2, *, message=None, digits=12,
                 thousands=False, **kwargs) -> None:
        super().__init__(label, validators, places=places, **kwargs)
        self.message = message or _l("Enter a number such as 12.50.")
        self.digits, self.thousands = digits, thousands

    def process_formdata(self, valuelist) -> None:
        if not valuelist:
            return
        text = str(valuelist[0]).strip()
        if self.thousands:
            text = text.replace(",", "")
        if not text:
            self.data = None
            return
        match = NUMBER.fullmatch(text)
        if match is None or not (match.group(2) or match.group(3)):
            self.data = None
            raise ValueError(self.message)
        sign, whole, fraction = match.group(1), match.group(2), match.group(3) or ""
        value = Decimal(f"{sign}{whole or 0}" + (f".{fraction}" if fraction else ""))
        if len(whole.lstrip("0")) > self.digits or len(fraction) > MAX_FRACTION_DIGITS \
                or (value.is_zero() and value.is_signed()):
            self.data = None
            raise ValueError(self.message)
        self.data = value


# --------------------------------------------------------------------------- the base form


class AppForm(RefuseControlCharacters, FlaskForm):
    """Every form of the app: CSRF from Flask-WTF, WTForms' messages from the cache above,
    control characters refused (RefuseControlCharacters). Its hidden CSRF token renders
    without an id: a page may hold several forms, and the id would repeat."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        token = getattr(self, "csrf_token", None)  # absent with CSRF off
        if token is not None:
            token.render_kw = {**(token.render_kw or {}), "id": False}  # WTForms omits False

    class Meta:
        def get_translations(self, form):
            if not current_app.config.get("WTF_I18N_ENABLED", True):
                return super().get_translations(form)
            return _TRANSLATIONS
