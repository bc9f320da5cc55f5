"""Analytics (issue 5). Re-exports only; each half keeps its own modules and lines here.

Classification and lifetime value: rfm, segments, markov, clv, snapshots.
"""

from app.analytics.snapshots import MemberAnalytics, member_summary  # noqa: F401
