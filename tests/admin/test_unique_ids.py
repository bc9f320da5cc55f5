"""Pages that hold several forms give each element its own id: a repeated id is invalid HTML
and breaks labels and assistive technology (the Nu checker found the CSRF token's id repeated
on the review moderation page and the customer record)."""

from __future__ import annotations

import re
from collections import Counter

import pytest

from app.core.extensions import db
from app.feedback import reviews
from tests.factories import make_book, make_member, make_placed_order

CSRF_ON = pytest.mark.parametrize("app_config", [{"WTF_CSRF_ENABLED": True}])


def _repeated_ids(page: str) -> list[str]:
    ids = Counter(re.findall(r'\sid="([^"]+)"', page))
    return sorted(name for name, count in ids.items() if count > 1)


@CSRF_ON
def test_the_review_queue_and_the_customer_record_repeat_no_id(app, staff):
    with app.app_context():
        reader = make_member(name="Rosa Reviewer")
        make_placed_order(reader)
        for title in ("One", "Two"):
            reviews.save_review(reader.id, make_book(title=title).id, 4, f"About {title}")
        db.session.commit()
        reader_id = reader.id

    for url in ("/admin/reviews", f"/admin/customers/{reader_id}"):
        page = staff.get(url).get_data(as_text=True)
        assert 'name="csrf_token"' in page, url
        assert _repeated_ids(page) == [], url
