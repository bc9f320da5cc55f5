"""RFM segments: THE mapping from scores to named segments, and who is in which segment.

The mapping (the one place it lives) is the common RFM segment grid: recency score R (1-5)
against the frequency-monetary score FM = (F + M) / 2 rounded half up, as drawn in the usual
"RFM segments" grid (e.g. Putler's RFM analysis guide, and the R-F grid used throughout the
RFM literature). The grid has ten cells' worth of names; "Lost" is carved out of
"Hibernating" as its worst corner (R 1, FM 1), as the eleven-segment version does.

          FM 1             FM 2             FM 3               FM 4        FM 5
    R 5   New              Potential loyal. Potential loyal.   Champions   Champions
    R 4   Promising        Potential loyal. Potential loyal.   Loyal       Loyal
    R 3   About to sleep   About to sleep   Needs attention    Loyal       Loyal
    R 2   Hibernating      Hibernating      At risk            At risk     Can't lose
    R 1   Lost             Hibernating      At risk            At risk     Can't lose

Members who have no paid, shipped or delivered order yet are `prospect` (no scores); in the
monthly history a member who had not joined yet at a month's start is `not_joined`.

Campaigns (app.campaigns) select members with `members_in_segment(code)`.
"""

from __future__ import annotations

from collections.abc import Iterable

import sqlalchemy as sa

from app.analytics.models import AnalyticsRun, MemberSnapshot, RunStatus
from app.core.extensions import db
from app.core.i18n import lazy_gettext as _l

CHAMPIONS = "champions"
LOYAL = "loyal"
POTENTIAL = "potential_loyalist"
NEW = "new"
PROMISING = "promising"
NEEDS_ATTENTION = "needs_attention"
ABOUT_TO_SLEEP = "about_to_sleep"
AT_RISK = "at_risk"
CANT_LOSE = "cant_lose"
HIBERNATING = "hibernating"
LOST = "lost"
PROSPECT = "prospect"
NOT_JOINED = "not_joined"

# Rows R 5 .. R 1, columns FM 1 .. FM 5 (the grid in the module docstring).
GRID: dict[int, tuple[str, str, str, str, str]] = {
    5: (NEW, POTENTIAL, POTENTIAL, CHAMPIONS, CHAMPIONS),
    4: (PROMISING, POTENTIAL, POTENTIAL, LOYAL, LOYAL),
    3: (ABOUT_TO_SLEEP, ABOUT_TO_SLEEP, NEEDS_ATTENTION, LOYAL, LOYAL),
    2: (HIBERNATING, HIBERNATING, AT_RISK, AT_RISK, CANT_LOSE),
    1: (LOST, HIBERNATING, AT_RISK, AT_RISK, CANT_LOSE),
}

# The RFM segments, best first, then the members who have not bought yet.
RFM_SEGMENTS: tuple[str, ...] = (CHAMPIONS, LOYAL, POTENTIAL, NEW, PROMISING, NEEDS_ATTENTION,
                                 ABOUT_TO_SLEEP, AT_RISK, CANT_LOSE, HIBERNATING, LOST)
SEGMENTS: tuple[str, ...] = (*RFM_SEGMENTS, PROSPECT)
# States of the segment Markov chain: every segment, plus "not yet a member".
STATES: tuple[str, ...] = (*SEGMENTS, NOT_JOINED)

LABELS = {
    CHAMPIONS: _l("Champions"),
    LOYAL: _l("Loyal"),
    POTENTIAL: _l("Potential loyalist"),
    NEW: _l("New"),
    PROMISING: _l("Promising"),
    NEEDS_ATTENTION: _l("Needs attention"),
    ABOUT_TO_SLEEP: _l("About to sleep"),
    AT_RISK: _l("At risk"),
    CANT_LOSE: _l("Can't lose"),
    HIBERNATING: _l("Hibernating"),
    LOST: _l("Lost"),
    PROSPECT: _l("No purchase yet"),
    NOT_JOINED: _l("Not yet a member"),
}

ADVICE = {
    CHAMPIONS: _l("Bought recently, often and the most. Reward them; ask for reviews; early "
                  "access to new titles."),
    LOYAL: _l("Buy regularly and spend well. Upsell, recommend series and new books by their "
              "authors."),
    POTENTIAL: _l("Recent buyers with average frequency. Offer the next grade, recommendations."),
    NEW: _l("Bought for the first time just now. Welcome them; help with a second order."),
    PROMISING: _l("Recent, but bought little. Build the habit: recommendations, demand lists."),
    NEEDS_ATTENTION: _l("Average on every count, not lately. A limited-time offer."),
    ABOUT_TO_SLEEP: _l("Below average and slipping. Share popular books, a reason to return."),
    AT_RISK: _l("Bought often and well, but long ago. Personal mail, a call from staff."),
    CANT_LOSE: _l("Were among the best, have not come back. Win them back: call them."),
    HIBERNATING: _l("Last bought long ago, little and seldom. Low-cost reminders only."),
    LOST: _l("Lowest on every count. Leave out of most campaigns."),
    PROSPECT: _l("Members without a paid order yet. A first-order nudge."),
    NOT_JOINED: _l("Not a member yet at the start of the month."),
}


def fm_score(f_score: int, m_score: int) -> int:
    """(F + M) / 2, rounded half up: 4 and 5 give 5, 3 and 4 give 4."""
    return (f_score + m_score + 1) // 2


def segment_for(r_score: int, f_score: int, m_score: int) -> str:
    """The named segment of one member's scores (each 1..5), by the grid above."""
    return GRID[r_score][fm_score(f_score, m_score) - 1]


def label(code: str) -> str:
    return str(LABELS.get(code, code))


# --------------------------------------------------------------------------- who is where


def latest_run_id_select() -> sa.ScalarSelect[int]:
    """The id of the newest finished run, as a scalar subquery (NULL when there is none)."""
    return (
        sa.select(AnalyticsRun.id)
        .where(AnalyticsRun.status == RunStatus.DONE)
        .order_by(AnalyticsRun.as_of.desc(), AnalyticsRun.id.desc())
        .limit(1)
        .scalar_subquery()
    )


def members_in_segment(code: str) -> sa.Select:
    """A select of `Member.id`s (as `member_id`) in segment `code` in the latest snapshot.

    Empty when there is no snapshot yet or nobody is in it; an unknown code selects nobody.
    """
    return sa.select(MemberSnapshot.member_id).where(
        MemberSnapshot.run_id == latest_run_id_select(),
        MemberSnapshot.segment == code,
    )


def segment_of(member_ids: Iterable[int]) -> dict[int, str]:
    """Each given member's segment code in the latest snapshot; members not in it are left out."""
    ids = list(dict.fromkeys(member_ids))
    found: dict[int, str] = {}
    for start in range(0, len(ids), 500):
        chunk = ids[start:start + 500]
        found.update(db.session.execute(
            sa.select(MemberSnapshot.member_id, MemberSnapshot.segment).where(
                MemberSnapshot.run_id == latest_run_id_select(),
                MemberSnapshot.member_id.in_(chunk),
            )
        ).all())
    return found
