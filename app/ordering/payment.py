"""Payment methods: a small interface, and the two offline methods the shop offers today.

No payment gateway is reachable from Bookstation, so both methods are offline: the
order is placed "awaiting payment" and staff mark it paid when the money arrives (see
`app.ordering.orders.change_status`). A real gateway later implements `PaymentMethod` too: its
`start()` would create the payment and return an outcome with a `redirect_url`, and the gateway's
callback would move the order to paid.

Refunds go back through the same method (`refund`): a gateway would call its refund API and
return its reference; an offline method moves no money itself, so it records who refunded and
how (a transfer back to the customer's account, cash back at the door), for the refund row that
`app.returns.refunds` writes. Neither writes to the database.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Protocol, runtime_checkable

from flask import current_app
from flask_babel import gettext as _

from app.core.errors import InvalidInput
from app.core.formatting import money
from app.core.i18n import lazy_gettext as _l

if TYPE_CHECKING:
    from decimal import Decimal

    from flask_babel import LazyString

    from app.membership.models import Member
    from app.ordering.models import Order

AWAITING_PAYMENT = "awaiting_payment"

# Demo bank details, used when the configuration does not name the shop's own account.
DEFAULT_BANK_DETAILS: dict[str, str] = {
    "BANK_ACCOUNT_NAME": "Bookstation Ltd",
    "BANK_NAME": "Demo Bank",
    "BANK_ACCOUNT_NUMBER": "6222 0000 1234 5678",
    "BANK_SWIFT": "DEMOCNSH",
}


@dataclass(frozen=True)
class PaymentOutcome:
    """What happened when payment started, and what the shopper should do next."""

    status: str
    instructions: str
    details: tuple[tuple[str, str], ...] = field(default_factory=tuple)
    redirect_url: str | None = None


REFUND_RECORDED = "recorded"


@dataclass(frozen=True)
class RefundOutcome:
    """What a payment method did with a refund: `how` is kept with the refund (offline: who
    refunded and how; a gateway: its reference)."""

    status: str
    how: str
    reference: str | None = None


@runtime_checkable
class PaymentMethod(Protocol):
    code: str
    label: LazyString
    description: LazyString

    def start(self, order: Order) -> PaymentOutcome:
        """Begin paying for a freshly placed order (it already has an id and its total)."""
        ...

    def instructions(self, order: Order) -> PaymentOutcome:
        """What to tell the shopper about paying this order (order page, confirmation mail).

        Free of side effects: it may be called any number of times.
        """
        ...

    def refund(self, order: Order, amount: Decimal, *, actor: Member | None,
               note: str | None = None) -> RefundOutcome:
        """Give `amount` back on a paid order (the caller has checked it is due and holds the
        order's row lock). Writes nothing to the database."""
        ...


class _OfflineMethod(ABC):
    """An offline method starts nothing: placing the order is the start, then we wait. Its
    refunds are paid back by staff by hand: the method records who did it and how."""

    refund_how: str = "paid back by hand"

    def start(self, order: Order) -> PaymentOutcome:
        return self.instructions(order)

    def refund(self, order: Order, amount: Decimal, *, actor: Member | None,
               note: str | None = None) -> RefundOutcome:
        who = actor.email if actor is not None else "the shop"
        how = f"{money_text(amount)} {self.refund_how} by {who}"
        if note:
            how = f"{how}: {note}"
        return RefundOutcome(status=REFUND_RECORDED, how=how[:200])

    @abstractmethod
    def instructions(self, order: Order) -> PaymentOutcome: ...


class CashOnDelivery(_OfflineMethod):
    code = "cod"
    refund_how = "paid back in cash or to the card used at the door"
    label = _l("Pay on delivery")
    description = _l("Pay the courier in cash or by card when your parcel arrives.")

    def instructions(self, order: Order) -> PaymentOutcome:
        return PaymentOutcome(
            status=AWAITING_PAYMENT,
            instructions=_(
                "Please have %(total)s ready for the courier when order %(number)s arrives.",
                total=money(order.total), number=order.number,
            ),
        )


class BankTransfer(_OfflineMethod):
    code = "bank_transfer"
    refund_how = "transferred back to the customer's account"
    label = _l("Bank transfer")
    description = _l("Transfer the total to our bank account; we send your books once it "
                     "arrives.")

    def instructions(self, order: Order) -> PaymentOutcome:
        config = current_app.config
        bank = {key: config.get(key) or default for key, default in DEFAULT_BANK_DETAILS.items()}
        return PaymentOutcome(
            status=AWAITING_PAYMENT,
            instructions=_(
                "Please transfer %(total)s to the account below, with %(number)s as the "
                "reference. We ship your books as soon as the money arrives.",
                total=money(order.total), number=order.number,
            ),
            details=(
                (_("Account name"), bank["BANK_ACCOUNT_NAME"]),
                (_("Bank"), bank["BANK_NAME"]),
                (_("Account number"), bank["BANK_ACCOUNT_NUMBER"]),
                (_("SWIFT/BIC"), bank["BANK_SWIFT"]),
                (_("Amount"), money(order.total)),
                (_("Reference"), order.number),
            ),
        )


METHODS: dict[str, PaymentMethod] = {
    method.code: method for method in (BankTransfer(), CashOnDelivery())
}


def money_text(amount: Decimal) -> str:
    """An amount as the records keep it (not localised: the refund's `how` is a record)."""
    return f"{amount:.2f}"


def get_method(code: str | None) -> PaymentMethod:
    """The payment method with this code; InvalidInput for anything else."""
    method = METHODS.get(code or "")
    if method is None:
        raise InvalidInput(_("Please choose a payment method."))
    return method


def choices() -> list[tuple[str, LazyString]]:
    """(code, label) pairs for a radio list, in the order the shop offers them."""
    return [(code, method.label) for code, method in METHODS.items()]
