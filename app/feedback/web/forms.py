"""The feedback form: stars and a review per book of the order, and the 0-10 question.

The fields depend on the order's books, so the form class is built per order
(`order_feedback_form`); each book's fields are named `rating_<book id>`/`review_<book id>`.
"""

from __future__ import annotations

from wtforms import SelectChoice, SelectField, TextAreaField
from wtforms.validators import Length, Optional

from app.core.forms import AppForm
from app.core.i18n import lazy_gettext as _l
from app.feedback.models import COMMENT_MAX, REVIEW_TEXT_MAX
from app.feedback.reviews import OrderFeedback

STARS = [SelectChoice("", _l("No rating")), SelectChoice("5", _l("5 - excellent")),
         SelectChoice("4", _l("4 - good")), SelectChoice("3", _l("3 - all right")),
         SelectChoice("2", _l("2 - poor")), SelectChoice("1", _l("1 - bad"))]


def stripped(value):
    return value.strip() if isinstance(value, str) else value


SCORES = [SelectChoice("", _l("No answer"))] + [SelectChoice(str(n), str(n))
                                                 for n in range(10, -1, -1)]


class FeedbackForm(AppForm):
    score = SelectField(_l("How likely are you to recommend us to a friend? (0 = not at all, "
                           "10 = extremely likely)"), choices=SCORES, default="")
    comment = TextAreaField(_l("Anything you would like to tell us?"), filters=[stripped],
                            validators=[Optional(), Length(max=COMMENT_MAX)])

    book_ids: list[int] = []

    def rating_field(self, book_id: int):
        return self[f"rating_{book_id}"]

    def review_field(self, book_id: int):
        return self[f"review_{book_id}"]

    def answers(self) -> dict[int, tuple[int | None, str]]:
        out = {}
        for book_id in self.book_ids:
            raw = self.rating_field(book_id).data
            out[book_id] = (int(raw) if raw else None, self.review_field(book_id).data or "")
        return out

    def score_value(self) -> int | None:
        return int(self.score.data) if self.score.data else None


def order_feedback_form(feedback: OrderFeedback, formdata=None) -> FeedbackForm:
    class OrderFeedbackForm(FeedbackForm):
        pass

    data: dict = {}
    book_ids = []
    for line in feedback.book_lines:
        book_ids.append(line.book_id)
        setattr(OrderFeedbackForm, f"rating_{line.book_id}",
                SelectField(_l("Your rating"), choices=STARS, default=""))
        setattr(OrderFeedbackForm, f"review_{line.book_id}",
                TextAreaField(_l("Your review (optional; shown on the book page once checked)"),
                              filters=[stripped],
                              validators=[Optional(), Length(max=REVIEW_TEXT_MAX)]))
        review = feedback.reviews.get(line.book_id)
        if review is not None:
            data[f"rating_{line.book_id}"] = str(review.rating)
            data[f"review_{line.book_id}"] = review.body or ""
    if feedback.survey is not None:
        data["score"] = str(feedback.survey.score)
        data["comment"] = feedback.survey.comment or ""
    OrderFeedbackForm.book_ids = book_ids
    if formdata is None:
        return OrderFeedbackForm(data=data)
    return OrderFeedbackForm(formdata=formdata)
