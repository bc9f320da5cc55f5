"""The category bar's fit (issue 22): each link gets the narrowest bar width at which it shows,
in order and never below an earlier one's; the stylesheet has a step for each width used."""

from __future__ import annotations

import re
from pathlib import Path

from app.catalog.web import category_bar

CSS = (Path(__file__).resolve().parents[2] / "static" / "css" / "site.css").read_text()


def test_widths_rise_in_order_and_all_fit_within_the_widest_bar():
    needs, all_fit = category_bar.thresholds(
        ["Fiction", "Classics", "Fantasy", "Science Fiction", "Mystery & Thriller", "Poetry"])

    assert needs == sorted(needs) and all_fit == needs[-1]
    assert category_bar.SMALLEST <= needs[0] and all_fit <= category_bar.LARGEST


def test_chinese_names_are_reckoned_wider_than_their_letter_count():
    assert category_bar.text_width("科幻小说") > category_bar.text_width("abcd") * 1.5


def test_every_step_has_its_container_rule():
    steps = set(range(category_bar.SMALLEST, category_bar.LARGEST + 1, category_bar.STEP))

    ruled = {int(w) for w in re.findall(r"@container catbar \(width < (\d+)px\)", CSS)}
    assert steps <= ruled
