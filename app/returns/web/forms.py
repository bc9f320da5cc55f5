"""Return and refund forms. The copies per order line are read from fields named
`qty_<order line id>` (and `got_<return line id>` / `restock_<return line id>` when staff
receive), as the lines depend on the order; forms check shape, the services the rest."""

from __future__ import annotations

import secrets

from wtforms import HiddenField, SelectChoice, SelectField, StringField, TextAreaField
from wtforms.validators import InputRequired, Length, Optional

from app.admin.forms import MoneyField, QueryForm, stripped, whole_cents
from app.core.forms import AppForm
from app.core.i18n import lazy_gettext as _l
from app.returns.models import ReturnStatus
from app.returns.requests import (
    DETAILS_MAX,
    REASON_LABELS,
    REJECT_MAX,
    STATUS_LABELS,
)

MAX_COPIES = 10_000


def reason_choices() -> list[SelectChoice]:
    return [SelectChoice("", _l("Choose a reason"))] + [
        SelectChoice(reason.value, label) for reason, label in REASON_LABELS.items()]


class ReturnForm(AppForm):
    reason = SelectField(_l("Why are you returning them?"), choices=reason_choices(), default="",
                         validators=[InputRequired(_l("Please choose a reason from the list."))])
    details = TextAreaField(_l("Tell us more (optional)"), filters=[stripped],
                            validators=[Optional(), Length(max=DETAILS_MAX)])


def read_copies(formdata, prefix: str, ids, maximum: int = MAX_COPIES
                ) -> tuple[dict[int, int], list[str]]:
    """{id: copies} from fields `<prefix><id>` (blank is 0), and the errors found."""
    found: dict[int, int] = {}
    errors: list[str] = []
    for item_id in ids:
        raw = (formdata.get(f"{prefix}{item_id}") or "").strip()
        if raw == "":
            found[item_id] = 0
            continue
        if not raw.isascii() or not raw.isdigit() or len(raw) > 5 or int(raw) > maximum:
            errors.append(str(_l("Enter a whole number of copies.")))
            continue
        found[item_id] = int(raw)
    return found, errors


class RejectForm(AppForm):
    reason = StringField(_l("Why is it rejected? (mailed to the member)"), filters=[stripped],
                         validators=[InputRequired(_l("Say why the return is rejected: the "
                                                      "member is told.")),
                                     Length(max=REJECT_MAX)])


class ApproveForm(AppForm):
    """Only the CSRF token."""


class ReceiveForm(AppForm):
    """CSRF; the lines' fields are read with `read_copies` and `restock_<id>`."""


class RefundForm(AppForm):
    lines = MoneyField(_l("For the books"), validators=[Optional(), whole_cents])
    shipping = MoneyField(_l("Shipping"), validators=[Optional(), whole_cents])
    goodwill = MoneyField(_l("Goodwill"), validators=[Optional(), whole_cents])
    note = StringField(_l("Note (how it was paid back; kept with the refund)"),
                       filters=[stripped], validators=[Optional(), Length(max=500)])
    # The form's one-time key: sent again, it finds the refund it made (no second refund).
    form_key = HiddenField(validators=[Optional(), Length(max=64)])

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        if not self.form_key.data:
            self.form_key.data = secrets.token_urlsafe(24)


class ReturnFilterForm(QueryForm):
    status = SelectField(_l("Status"), default="", choices=[SelectChoice("", _l("Any status"))]
                         + [SelectChoice(s.value, STATUS_LABELS[s]) for s in ReturnStatus])
