"""Cancelling a demand: the one way, whoever asks (the reader, an unsubscribe link, an erasure).

`cancel_demand` takes the book's lock first (the lock order of app.demand.allocation), then
cancels the demand only if it is still open or notified (a conditional UPDATE, so two
cancellations, or a cancellation racing a purchase or a lapse, change it once), clears its
`open_key` (the reader may ask for the book again) and releases its holds: held copies pass
to the next reader in line at once, or back on the shelf. Flushes, never commits.
"""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa

from app.core.db import utcnow
from app.core.extensions import db
from app.demand.allocation import lock_book
from app.demand.holds import release_for_demand
from app.demand.models import Demand, DemandStatus

#: The statuses a demand can be cancelled from.
ACTIVE = (DemandStatus.OPEN, DemandStatus.NOTIFIED)


def cancel_demand(demand: Demand, now: datetime | None = None) -> bool:
    """Cancel `demand` (see the module doc). False, changing nothing, if it was already closed
    (cancelled, fulfilled or expired). The demand's status, `cancelled_at` and `open_key` are
    read again from the database on their next use."""
    now = now or utcnow()
    if demand.book_id is not None:
        lock_book(demand.book_id)
    done = db.session.execute(
        sa.update(Demand).where(Demand.id == demand.id, Demand.status.in_(ACTIVE))
        .values(status=DemandStatus.CANCELLED, cancelled_at=now, open_key=None)
        .execution_options(synchronize_session=False)
    )
    db.session.expire(demand, ["status", "cancelled_at", "open_key"])
    if done.rowcount != 1:
        return False
    release_for_demand(demand, now)
    db.session.flush()
    return True
