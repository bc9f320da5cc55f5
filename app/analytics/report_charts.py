"""The numbers behind the analysis pages' charts (issue 22): NPS by month, cohort retention
and members per RFM segment, each as chart points and as CSV rows (header first), read from
the snapshots the pages already show; nothing here queries beyond them."""

from __future__ import annotations

from collections.abc import Iterator, Sequence

from app.analytics import segments as seg


def nps_points(sat: dict | None) -> list[tuple[str, float | None]]:
    """(month, NPS or None for a month without answers), oldest first."""
    if not sat:
        return []
    return [(m["month"], m["nps"]) for m in sat.get("months", [])]


def nps_rows(sat: dict | None) -> Iterator[Sequence[object]]:
    yield ("month", "answers", "promoters", "passives", "detractors", "nps")
    for m in (sat or {}).get("months", []):
        yield (m["month"], m["responses"], m["promoters"], m["passives"], m["detractors"],
               "" if m["nps"] is None else m["nps"])


def retention_curve(loyalty: dict | None) -> list[tuple[int, float | None]]:
    """(months after the first order, share of members who ordered again that month): the
    mean over the cohorts that have lived that long, weighted by their size."""
    if not loyalty or not loyalty.get("cohorts"):
        return []
    curve = []
    for k in range(int(loyalty["max_offset"]) + 1):
        members = returned = 0.0
        for cohort in loyalty["cohorts"]:
            value = cohort["retention"][k] if k < len(cohort["retention"]) else None
            if value is not None and cohort["size"]:
                members += cohort["size"]
                returned += cohort["size"] * value / 100.0
        curve.append((k, round(100.0 * returned / members, 1) if members else None))
    return curve


def cohort_rows(loyalty: dict | None) -> Iterator[Sequence[object]]:
    offsets = int(loyalty["max_offset"]) + 1 if loyalty else 1
    yield ("first_order_month", "members", *[f"m+{k}_percent" for k in range(offsets)])
    for cohort in (loyalty or {}).get("cohorts", []):
        yield (cohort["month"], cohort["size"],
               *["" if v is None else v for v in cohort["retention"][:offsets]])
    yield ("all_cohorts_weighted", "",
           *["" if v is None else v for _, v in retention_curve(loyalty)])


def segment_points(segments: Sequence) -> list[tuple[str, int]]:
    """(segment name, members), in the grid's order (the overview's rows)."""
    return [(seg.label(s.key), s.members) for s in segments]


def segment_rows(segments: Sequence) -> Iterator[Sequence[object]]:
    yield ("segment", "name", "members", "member_share", "spend_to_date", "revenue_share",
           "predicted_clv")
    for s in segments:
        yield (s.key, seg.label(s.key), s.members, round(s.member_share, 4), s.monetary,
               round(s.monetary_share, 4), s.clv)
