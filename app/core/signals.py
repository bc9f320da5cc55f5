"""Signals: effects that point upward, from a lower feature to a higher one.

A lower feature (docs/ARCHITECTURE.md gives the order) may not import a higher one, so where
its change must move something above it, it sends one of these signals and the higher feature
connects a receiver in its own `init_app`. Every signal is declared here, once, with what it
carries.

Contract for senders and receivers:
- A signal is sent inside the business transaction, after the sender's change is flushed.
  Receivers run synchronously in the same transaction and session; they flush, never commit,
  and an exception they raise propagates to the sender, which rolls back the whole change.
- The sender is the changed object; keyword arguments carry the rest.
- Receivers must be idempotent with respect to the facts they are given (they may be called
  again for the same object in a later transaction).
- Receivers are module-level functions, connected in `init_app`: blinker keys a receiver by
  the function, so the second `create_app` in one process (tests build many) connects nothing
  new, and each signal reaches each receiver once.

`before_driver_write` is the one signal below the features: core's bulk writer sends it before
a write the engine's events do not see, for the serving layer to connect to.
"""

from __future__ import annotations

from blinker import Namespace

_signals = Namespace()

#: A member row was created from an address its owner proved (the join link; `flask
#: create-admin` and the demo seed send nothing). sender: the Member.
member_joined = _signals.signal("member-joined")

#: A book was created or edited (its ISBN may have changed). sender: the Book.
book_saved = _signals.signal("book-saved")

#: An order was placed. sender: the Order; kwargs: member, when, wanted (book ids with quantities).
order_placed = _signals.signal("order-placed")

#: An order moved from one status to another. sender: the Order; kwargs: previous (OrderStatus),
#: actor (Member | None), now (datetime).
order_status_changed = _signals.signal("order-status-changed")

#: A refund was recorded against an order (its `refunded_cents` already raised and flushed): its
#: revenue fell. sender: the Order; kwargs: refund (the Refund), actor (Member | None).
order_refunded = _signals.signal("order-refunded")

#: A member or staff asked to return lines of an order. sender: the ReturnRequest.
return_requested = _signals.signal("return-requested")
#: A member answered the satisfaction question of an order (new answer or edited).
#: sender: the SurveyResponse; kwargs: score (0-10), member (Member).
survey_answered = _signals.signal("survey-answered")

#: A member rated a book (a new review or an edited one). sender: the Review; kwargs: rating
#: (1-5), member (Member).
review_posted = _signals.signal("review-posted")

#: Copies of a book were received (the receipt, its holds and mails are flushed). sender: the
#: StockReceipt; kwargs: book (the Book), quantity, held, shelved, notified (readers told),
#: actor (Member | None).
stock_received = _signals.signal("stock-received")

#: A demand was created: a member's (for a carried book or an uncatalogued one), or a
#: visitor's once its address is confirmed (it counts from then). Not sent when an open demand
#: is only updated. sender: the Demand.
demand_created = _signals.signal("demand-created")

#: Members' grades moved (GradeChange rows were written: one for a member, many at once for a
#: table change or a recompute). sender: None; kwargs: changes (a list of dicts, each the
#: values of one written GradeChange as app.grades.changes.change_row gives them: member_id,
#: from_code, to_code, from_name, to_name, at, reason, spend, order_id, actor_id, note).
grade_changed = _signals.signal("grade-changed")

#: An admin changed a member's role (flushed and audited). sender: the Member; kwargs: previous
#: (Role), actor (Member).
member_role_changed = _signals.signal("member-role-changed")

#: A write is about to go to the database on the driver's own cursor (a COPY, app.core.bulk),
#: which the engine's events do not see. Sent before the write. sender: the sa.Connection.
before_driver_write = _signals.signal("before-driver-write")
