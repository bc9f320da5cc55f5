"""Reviews and the satisfaction survey: invitation, answers, moderation, book page.

When an order is delivered (`on_order_delivered`, run by the receiver of `order_status_changed`
that the feature's `init_app` connects), the member is invited through the outbox (one mail
per order: dedupe key "review_invite:<order id>") to rate each book of the order (1-5, optional
text) and answer one question, "how likely are you to recommend us to a friend" (0-10, for
NPS), with an optional comment. Members who turned `mail_opt_in` off get no invitation (checked
when queued and again when sent); they can still answer from the order page.

The link in the mail carries a signed token (itsdangerous, salt "review-invite", valid
REVIEW_INVITE_MAX_AGE_DAYS) naming the order and the member: with it no login is needed. The
token only opens the feedback form of that one delivered order (book titles, the member's own
answers); it shows nothing else of the account, and anything written is moderated before it
is published. Asking for a password here would cost many answers and skew NPS towards the
members who happen to be logged in.

One rating per member and book: answering again edits it. A rating without text is published
at once (there is nothing to moderate); text waits for staff (`moderate`), and editing the
text sends it back. The book page shows approved reviews and their average ("our readers"),
next to the Goodreads average the catalog came with. Every saved rating sends
`review_posted`, every saved answer `survey_answered` (app.core.signals: support opens a case
for a low one). Functions flush, never commit.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime

import sqlalchemy as sa
from flask import current_app
from flask_babel import gettext as _
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer
from sqlalchemy.orm import selectinload

from app.catalog.browse import ShownBook
from app.catalog.models import Book
from app.core.audit import record as audit
from app.core.db import utcnow
from app.core.errors import DomainError, NotFound
from app.core.extensions import db
from app.core.reads import columns_only, rows
from app.core.signals import review_posted, survey_answered
from app.core.urls import external_url
from app.feedback.models import COMMENT_MAX, REVIEW_TEXT_MAX, Review, ReviewStatus, SurveyResponse
from app.mail import outbox as mail_service
from app.mail import send_checks
from app.mail.models import OutboxMail
from app.membership.models import Member
from app.ordering.models import Order, OrderStatus
from app.serving import caching

SALT = "review-invite"
INVITE_KIND = "review_invite"
BOOK_REVIEWS_SHOWN = 5


class InvalidInviteToken(DomainError):
    pass


class InvalidFeedback(DomainError):
    pass


class ModerationRefused(DomainError):
    pass


# --------------------------------------------------------------------------- the invitation


def _serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt=SALT)


def invite_token(order_id: int, member_id: int) -> str:
    return _serializer().dumps({"o": int(order_id), "m": int(member_id)})


def read_invite_token(token: str) -> tuple[int, int]:
    """(order id, member id) of a token; InvalidInviteToken if forged, damaged or expired."""
    max_age = current_app.config.get("REVIEW_INVITE_MAX_AGE_DAYS", 60) * 86400
    try:
        data = _serializer().loads(token or "", max_age=max_age)
    except SignatureExpired as exc:
        raise InvalidInviteToken(
            _("This link has expired. Log in and open the order to leave your review.")
        ) from exc
    except BadSignature as exc:
        raise InvalidInviteToken(
            _("This link is not valid. Please use the link from your email, or log in and "
              "open the order.")
        ) from exc
    if not (isinstance(data, dict) and isinstance(data.get("o"), int)
            and isinstance(data.get("m"), int)):
        raise InvalidInviteToken(_("This link is not valid."))
    return data["o"], data["m"]


def invite_url(order: Order) -> str:
    return external_url("feedback.order_feedback_token",
                        token=invite_token(order.id, order.member_id))


def on_order_delivered(order: Order) -> OutboxMail | None:
    """Queue the invitation for a just-delivered order (once per order; not to opted-out or
    closed accounts). Returns the outbox row, or None when nothing was queued."""
    member = order.member
    if member is None or not member.mail_opt_in or not member.is_active_account:
        return None
    titles = [line.title for line in order.lines]
    return mail_service.enqueue(
        kind=INVITE_KIND,
        to_email=member.email,
        template="review_invite",
        context={
            "name": member.name,
            "order_number": order.number,
            "titles": titles,
            "feedback_url": invite_url(order),
            "shop_name": current_app.config["SHOP_NAME"],
        },
        member_id=member.id,
        dedupe_key=f"{INVITE_KIND}:{order.id}",
    )


def on_order_status_changed(order: Order, **_: object) -> None:
    """Receiver of `order_status_changed`: a delivered order invites its member."""
    if order.status == OrderStatus.DELIVERED:
        on_order_delivered(order)


def register_send_checks() -> None:
    """Invitations go only to members who are active and still accept mail (checked again
    at send time, a batch at a time)."""
    send_checks.register_batch_send_check(INVITE_KIND, send_checks.member_accepts_mail)


# --------------------------------------------------------------------------- answering


@dataclass
class OrderFeedback:
    """What a member has already said about one order: ratings by book id, and the survey."""

    order: Order
    reviews: dict[int, Review] = field(default_factory=dict)
    survey: SurveyResponse | None = None

    @property
    def book_lines(self) -> list:
        """One line per distinct book (an order may list a book once per line)."""
        seen: set[int] = set()
        lines = []
        for line in self.order.lines:
            if line.book_id not in seen:
                seen.add(line.book_id)
                lines.append(line)
        return lines


def feedback_order(member_id: int, order_id: int) -> OrderFeedback:
    """The member's delivered order with their earlier answers (3 queries). NotFound for an
    order that is not theirs or not delivered yet."""
    order = db.session.scalar(
        sa.select(Order).where(Order.id == order_id, Order.member_id == member_id)
        .options(selectinload(Order.lines))
    )
    if order is None:
        raise NotFound(_("We could not find that order."))
    if order.status is not OrderStatus.DELIVERED:
        raise NotFound(_("You can review an order once it has been delivered."))
    book_ids = {line.book_id for line in order.lines}
    reviews = {
        r.book_id: r for r in db.session.scalars(
            sa.select(Review).where(Review.member_id == member_id, Review.book_id.in_(book_ids)))
    }
    survey = db.session.scalar(sa.select(SurveyResponse)
                               .where(SurveyResponse.order_id == order.id))
    return OrderFeedback(order=order, reviews=reviews, survey=survey)


def _clean(text: str | None, limit: int) -> str | None:
    text = (text or "").strip()
    if len(text) > limit:
        raise InvalidFeedback(_("Please keep it under %(n)s characters.", n=limit))
    return text or None


def save_review(member_id: int, book_id: int, rating: int, body: str | None = None, *,
                order_id: int | None = None, now: datetime | None = None) -> Review:
    """Create or edit the member's rating of a book. Text waits for moderation (again after
    an edit of the text); a bare rating is published at once."""
    if not isinstance(rating, int) or not 1 <= rating <= 5:
        raise InvalidFeedback(_("Choose from 1 to 5 stars."))
    body = _clean(body, REVIEW_TEXT_MAX)
    now = now or utcnow()
    review = db.session.scalar(sa.select(Review).where(Review.member_id == member_id,
                                                       Review.book_id == book_id))
    if review is None:
        review = Review(member_id=member_id, book_id=book_id, order_id=order_id, rating=rating,
                        body=body, created_at=now, updated_at=now,
                        status=ReviewStatus.APPROVED if body is None else ReviewStatus.PENDING)
        db.session.add(review)
    else:
        if body is None:
            review.status = ReviewStatus.APPROVED
        elif body != review.body or review.status is not ReviewStatus.APPROVED:
            review.status = ReviewStatus.PENDING
        if review.rating != rating or review.body != body:
            review.updated_at = now
        review.rating = rating
        review.body = body
        review.order_id = review.order_id or order_id
    db.session.flush()
    forget_book(book_id)
    review_posted.send(review, rating=rating, member=db.session.get(Member, member_id))
    return review


def save_survey(member_id: int, order_id: int, score: int, comment: str | None = None, *,
                now: datetime | None = None) -> SurveyResponse:
    if not isinstance(score, int) or not 0 <= score <= 10:
        raise InvalidFeedback(_("Choose a score from 0 to 10."))
    comment = _clean(comment, COMMENT_MAX)
    now = now or utcnow()
    response = db.session.scalar(sa.select(SurveyResponse)
                                 .where(SurveyResponse.order_id == order_id))
    if response is None:
        response = SurveyResponse(member_id=member_id, order_id=order_id, score=score,
                                  comment=comment, created_at=now, updated_at=now)
        db.session.add(response)
    else:
        if response.member_id != member_id:
            raise NotFound(_("We could not find that order."))
        response.score, response.comment, response.updated_at = score, comment, now
    db.session.flush()
    survey_answered.send(response, score=score, member=db.session.get(Member, member_id))
    return response


def save_order_feedback(feedback: OrderFeedback, ratings: dict[int, tuple[int | None, str]],
                        score: int | None, comment: str | None) -> int:
    """Save what the form gave for one order: `ratings` maps book id to (stars or None, text).
    Books not in the order are refused; a book without stars is skipped (text alone is not a
    rating). Returns how many answers were saved."""
    order = feedback.order
    in_order = {line.book_id for line in order.lines}
    saved = 0
    for book_id, (rating, body) in ratings.items():
        if book_id not in in_order:
            raise InvalidFeedback(_("That book is not in this order."))
        if rating is None:
            if (body or "").strip():
                raise InvalidFeedback(_("Give the book some stars to go with your review."))
            continue
        feedback.reviews[book_id] = save_review(order.member_id, book_id, rating, body,
                                                order_id=order.id)
        saved += 1
    if score is not None:
        feedback.survey = save_survey(order.member_id, order.id, score, comment)
        saved += 1
    elif (comment or "").strip():
        raise InvalidFeedback(_("Choose a score to go with your comment."))
    return saved


# --------------------------------------------------------------------------- moderation


MODERATION_FIELDS = ("status", "moderation_note")


def moderate(review: Review, actor: Member, approve: bool, note: str | None = None) -> Review:
    """Approve or reject a review (audited as review.approve / review.reject)."""
    before = audit.snapshot(review, MODERATION_FIELDS)
    review.status = ReviewStatus.APPROVED if approve else ReviewStatus.REJECTED
    review.moderation_note = (note or "").strip()[:500] or None
    review.moderated_at = utcnow()
    review.moderated_by_id = actor.id
    db.session.flush()
    audit.record(actor.id, actor.email, "review.approve" if approve else "review.reject", review,
                 before=before, after=audit.snapshot(review, MODERATION_FIELDS),
                 summary=f"Review {review.id} of book {review.book_id}: "
                         f"{'approved' if approve else 'rejected'}")
    forget_book(review.book_id)
    return review


BULK_MODERATION_MAX = 100


def moderate_many(review_ids: Iterable[int], actor: Member, approve: bool,
                  note: str | None = None) -> int:
    """Approve or reject several reviews at once (the moderation queue's bulk action): each
    goes through `moderate`, so each is audited on its own. Reviews already in that state, and
    ids that are no review (deleted meanwhile), are left alone. Returns how many changed."""
    ids = sorted({int(i) for i in review_ids})
    if not ids:
        raise ModerationRefused(_("Tick at least one review, or “Select all on this page”."))
    if len(ids) > BULK_MODERATION_MAX:
        raise ModerationRefused(_("At most %(max)d reviews at once.",
                                   max=BULK_MODERATION_MAX))
    target = ReviewStatus.APPROVED if approve else ReviewStatus.REJECTED
    changed = 0
    for review in db.session.scalars(sa.select(Review).where(Review.id.in_(ids))
                                     .order_by(Review.id).with_for_update()):
        if review.status is not target:
            moderate(review, actor, approve, note)
            changed += 1
    return changed


def reviews_for_moderation(status: ReviewStatus, page: int, per_page: int = 25):
    stmt = (
        sa.select(Review)
        .where(Review.status == status)
        .options(selectinload(Review.member), selectinload(Review.book))
        .order_by(Review.updated_at.desc() if status is not ReviewStatus.PENDING
                  else Review.updated_at.asc(), Review.id)
    )
    return db.paginate(stmt, page=page, per_page=per_page, error_out=False)


def pending_count() -> int:
    return db.session.scalar(sa.select(sa.func.count(Review.id))
                             .where(Review.status == ReviewStatus.PENDING)) or 0


# --------------------------------------------------------------------------- the book page


@dataclass(frozen=True)
class ShownReview:
    rating: int
    body: str | None
    author: str  # the first name; "" for "A reader", said in the page's language
    at: datetime


@dataclass(frozen=True)
class BookFeedback:
    """What the book page shows from our own readers (plain data: safe to cache)."""

    average: float | None
    count: int
    reviews: tuple[ShownReview, ...]


def _cache_key(book_id: int) -> str:
    return f"feedback:book:{book_id}"


def forget_book(book_id: int) -> None:
    caching.forget(_cache_key(book_id))


def _first_name(name: str) -> str:
    """Reviews are signed with the first name only (privacy); "" for a reviewer without a name,
    whom the page calls "A reader" in its own language (BookFeedback is cached for every
    language: templates/feedback/_book_reviews.html translates)."""
    return (name or "").split(" ", 1)[0]


@functools.cache
def _book_feedback_statement() -> sa.Select:
    """The reader section's query, built once: every book page that misses the page cache for
    a book not seen for BOOK_FEEDBACK_CACHE_SECONDS runs it, and building it cost more than
    running it."""
    return columns_only(
        sa.select(Review.rating, Review.body, Member.name, Review.updated_at,
                  sa.func.count().over(), sa.func.avg(Review.rating).over())
        .join(Member, Member.id == Review.member_id)
        .where(Review.book_id == sa.bindparam("book_id"),
               Review.status == ReviewStatus.APPROVED)
        .order_by(Review.body.is_(None), Review.updated_at.desc(), Review.id.desc())
        .limit(BOOK_REVIEWS_SHOWN)
    )


def compute_book_feedback(book_id: int) -> BookFeedback:
    """One query: approved reviews with their count and average (window functions)."""
    found = rows(_book_feedback_statement(), {"book_id": book_id}).all()
    shown = tuple(ShownReview(r.rating, r.body, _first_name(r.name), r.updated_at)
                  for r in found)
    total = found[0][4] if found else 0
    mean = round(float(found[0][5]), 2) if found else None
    return BookFeedback(average=mean, count=total, reviews=shown)


NO_FEEDBACK = BookFeedback(average=None, count=0, reviews=())
#: The name under which the book page's query says whether a book has approved reviews
#: (registered by this feature's init_app with `app.catalog.browse.show_with_book`).
HAS_REVIEWS = "has_reviews"


def has_reviews_expression() -> sa.ColumnElement[bool]:
    """Whether the book of the enclosing query has an approved review (an indexed EXISTS)."""
    return sa.exists().where(Review.book_id == Book.id,
                             Review.status == ReviewStatus.APPROVED)


def feedback_for(book: ShownBook) -> BookFeedback:
    """The book page's reader section for `book` as read with it: nothing to read or cache
    when its query found no approved review (most books), else `book_feedback`."""
    if not book.shown_with.get(HAS_REVIEWS, True):
        return NO_FEEDBACK
    return book_feedback(book.id)


def book_feedback(book_id: int) -> BookFeedback:
    """The book page's reader section (what our readers say), cached
    BOOK_FEEDBACK_CACHE_SECONDS (dropped at once when a review of the book is saved or
    moderated). What buyers also bought is `app.analytics.associations.also_bought_shown`."""
    seconds = current_app.config.get("BOOK_FEEDBACK_CACHE_SECONDS", 300)
    return caching.remember(_cache_key(book_id), seconds,
                            lambda: compute_book_feedback(book_id))


# --------------------------------------------------------------------------- the CRM record


def member_feedback(member: Member, limit: int = 20) -> dict:
    """A member's reviews (with the book) and survey answers, newest first, for the customer
    record's "Reviews and feedback" panel (registered by the CRM's init_app)."""
    reviews = list(db.session.execute(
        sa.select(Review, Book.title).join(Book, Book.id == Review.book_id)
        .where(Review.member_id == member.id)
        .order_by(Review.updated_at.desc(), Review.id.desc()).limit(limit)).all())
    answers = list(db.session.scalars(
        sa.select(SurveyResponse).where(SurveyResponse.member_id == member.id)
        .order_by(SurveyResponse.created_at.desc(), SurveyResponse.id.desc()).limit(limit)))
    return {"reviews": reviews, "answers": answers}


def scrub_member_feedback(member: Member, placeholder_email: str) -> None:
    """Erasure (app.crm.customer_admin): the words a member wrote go; their ratings and
    scores stay, as anonymous figures, in the book averages and NPS."""
    touched = list(db.session.scalars(
        sa.select(Review.book_id).where(Review.member_id == member.id,
                                        Review.body.is_not(None))))
    db.session.execute(sa.update(Review).where(Review.member_id == member.id)
                       .values(body=None).execution_options(synchronize_session=False))
    db.session.execute(sa.update(SurveyResponse).where(SurveyResponse.member_id == member.id)
                       .values(comment=None).execution_options(synchronize_session=False))
    for book_id in set(touched):
        forget_book(book_id)
