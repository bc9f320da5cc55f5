"""A book page names the book's language in the reader's language, whatever code the catalog's
source used for it (ISO 639-1, 639-2 or a BCP 47 tag); an unknown code is shown as it is."""

from __future__ import annotations

import pytest

from app.core.extensions import db
from tests.factories import make_book


@pytest.mark.parametrize(("code", "english", "chinese"), [
    ("eng", "English", "英语"),
    ("en-US", "English (United States)", "英语 (美国)"),
    ("zh", "Chinese", "中文"),
    ("fre", "French", "法语"),
    ("mul", "Multiple languages", "多语种"),
    ("xq-odd", "xq-odd", "xq-odd"),
])
def test_the_book_page_names_the_language_for_the_reader(app, client, code, english, chinese):
    with app.app_context():
        book = make_book(title="Tongues", language=code)
        db.session.commit()
        book_id = book.id

    in_english = client.get(f"/book/{book_id}", headers={"Accept-Language": "en"})
    in_chinese = app.test_client().get(f"/book/{book_id}",
                                       headers={"Accept-Language": "zh-CN"})

    assert f"<dd>{english}</dd>" in in_english.get_data(as_text=True)
    assert f"<dd>{chinese}</dd>" in in_chinese.get_data(as_text=True)
