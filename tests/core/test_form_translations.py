"""WTForms' own messages come in the reader's language, from a catalogue loaded once per
language and process (app.core.forms), not from disk in every request that builds a form."""

from __future__ import annotations

from babel import support
from flask_babel import force_locale
from wtforms.i18n import messages_path

from app.core import forms
from app.ordering.web.forms import CheckoutForm

REQUIRED = "This field is required."


def _wtforms_says(locale: str, message: str) -> str:
    """What WTForms' catalogue says, read straight from disk as Flask-WTF would."""
    return support.Translations.load(messages_path(), [locale], domain="wtforms").ugettext(message)


def test_wtforms_messages_are_translated_for_a_chinese_reader(app):
    with app.test_request_context("/checkout"), force_locale("zh_Hans"):
        said = CheckoutForm().meta.get_translations(None).gettext(REQUIRED)

    assert said == _wtforms_says("zh_Hans", REQUIRED)
    assert said != REQUIRED  # WTForms ships a Chinese catalogue


def test_wtforms_messages_stay_english_for_an_english_reader(app):
    with app.test_request_context("/checkout"), force_locale("en"):
        said = CheckoutForm().meta.get_translations(None).gettext(REQUIRED)

    assert said == REQUIRED


def test_the_catalogue_is_read_once_per_language_however_many_forms_are_built(app):
    forms._catalogue.cache_clear()
    for _ in range(5):
        for locale in ("en", "zh_Hans"):
            with app.test_request_context("/checkout"), force_locale(locale):
                form = CheckoutForm()
                form.meta.get_translations(form).gettext(REQUIRED)

    info = forms._catalogue.cache_info()
    assert info.misses == 2  # one load per language
    assert info.hits >= 8
