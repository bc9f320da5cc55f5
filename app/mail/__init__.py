"""Mail: the outbox (queued in the business transaction, delivered after the commit by any
number of senders), the mail log for staff and the local mail catcher."""
