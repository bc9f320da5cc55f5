"""The service figures (issue 20), one definition each (app.support.figures): open cases,
overdue cases, median first response and resolution time; on the dashboard and the
satisfaction report, with their numbers as CSV."""

from __future__ import annotations

from datetime import timedelta

from app.core.db import utcnow
from app.core.extensions import db
from app.models import Member
from app.support import cases, figures
from tests.pages import logged_in_client


def _three_cases(people):
    rita = db.session.get(Member, people["rita"])
    sam = db.session.get(Member, people["sam"])
    now = utcnow()
    answered = []
    for hours_to_reply in (1, 2, 6):
        case = cases.open_case(subject="Q", body="?", member=rita,
                               now=now - timedelta(hours=30))
        cases.reply(case, sam, "A", now=now - timedelta(hours=30 - hours_to_reply))
        answered.append(case)
    cases.close(answered[0], sam, now=now - timedelta(hours=26))  # resolved after 4 hours
    cases.open_case(subject="Late", body="?", member=rita, now=now - timedelta(hours=25))
    db.session.commit()
    return now


def test_the_medians_and_counts_follow_their_definitions(ctx, people):
    now = _three_cases(people)

    f = figures.case_figures(now)

    assert (f.open, f.overdue) == (3, 1)  # two waiting on the customer, one new and late
    assert f.median_first_response == timedelta(hours=2)
    assert f.median_resolution == timedelta(hours=4)
    assert (f.answered, f.resolved) == (3, 1)


def test_no_cases_give_no_medians(ctx):
    f = figures.case_figures()

    assert (f.open, f.overdue, f.median_first_response, f.median_resolution) == (0, 0, None, None)


def test_the_dashboard_and_the_satisfaction_report_show_the_figures(app, people):
    with app.app_context():
        _three_cases(people)
    staff = logged_in_client(app, "sam@example.test")

    for path in ("/admin/", "/admin/satisfaction"):
        page = staff.get(path).get_data(as_text=True)
        assert 'data-testid="case-figures"' in page, path
        assert "/admin/cases/figures.csv" in page, path
    csv = staff.get("/admin/cases/figures.csv").get_data(as_text=True).splitlines()
    assert csv[1:] == ["Open cases,3,cases,3", "Overdue cases,1,cases,1",
                       "Median first response time,2.0,hours,3",
                       "Median resolution time,4.0,hours,1"]
