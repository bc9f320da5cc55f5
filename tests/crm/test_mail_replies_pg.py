"""Answering a mail written from the record, on PostgreSQL (issue 21): the whole story as on
SQLite, and the answers that meet: two first answers to one mail at once open one case (the
second joins it), and the same form sent twice at once adds one message."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from app.core.extensions import db
from app.crm import mail_replies
from app.support.models import Direction, SupportCase
from tests.crm.test_mail_replies import (
    a_form_key_used_on_another_case,
    an_old_link_after_a_merge,
    cases_of,
    make_people,
    send_mail,
    the_whole_story,
)
from tests.helpers import run_at_once

pytestmark = pytest.mark.pg


@pytest.fixture
def people(pg_app) -> dict:
    return make_people(pg_app)


def test_the_answer_to_a_mail_from_the_record_opens_one_case_for_its_writer(pg_app, people,
                                                                           smtp_inbox):
    the_whole_story(pg_app, smtp_inbox, people)


def test_a_form_key_used_on_another_case_is_a_new_answer_on_postgresql(pg_app, people):
    a_form_key_used_on_another_case(pg_app, pg_app.test_client(), people)


def test_an_old_link_after_a_merge_adds_nothing_on_postgresql(pg_app, people):
    an_old_link_after_a_merge(pg_app, pg_app.test_client(), people)


def _answer_at_once(pg_app, token: str, calls: list[tuple]) -> list[int]:
    opened = []

    def answer(meet, body, form_key):
        with pg_app.test_request_context():
            link = mail_replies.link_for_token(token)  # both pages found no case yet
            assert mail_replies.case_of(link) is None
            meet()
            case = mail_replies.answer(link, body, form_key=form_key)
            db.session.commit()
            opened.append(case.id)

    errors = run_at_once(answer, calls)
    assert not errors, errors
    return opened


def test_two_first_answers_to_one_mail_at_once_open_one_case(pg_app, people):
    token = send_mail(pg_app, people).rsplit("/", 1)[1]

    opened = _answer_at_once(pg_app, token, [("One thing", None), ("And another", None)])

    assert len(opened) == 2 and len(set(opened)) == 1
    with pg_app.app_context():
        [case] = cases_of(people["rita"])
        assert [m.direction for m in case.messages] == [Direction.OUT, Direction.IN,
                                                         Direction.IN]
        assert sorted(m.body for m in case.messages[1:]) == ["And another", "One thing"]


def test_the_same_answer_sent_twice_at_once_opens_one_case_with_one_answer(pg_app, people):
    token = send_mail(pg_app, people).rsplit("/", 1)[1]
    key = "k" * 32

    opened = _answer_at_once(pg_app, token, [("Only once", key), ("Only once", key)])

    assert len(set(opened)) == 1
    with pg_app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(SupportCase)) == 1
        [case] = cases_of(people["rita"])
        assert [(m.direction, m.body) for m in case.messages][1:] == [(Direction.IN,
                                                                       "Only once")]
