"""Returns and refunds: a member returns copies of a delivered order within the return window
(or staff open a return for any order); staff approve or reject it, receive the copies (the
resaleable ones back to stock through a stock receipt, so waiting readers are served as by any
receipt) and refund: whole or in part (lines, shipping, goodwill), through the order's payment
method, never more than was paid. Refunds lower revenue everywhere (`Order.revenue`) and the
member's qualifying spend (the grade follows `REFUND_GRADE_POLICY`).

The modules, by concern:

- `requests`: asking for a return, the window, and its life cycle (approve, reject, receive);
- `refunds`: refunding an order (the order's row lock; the payment method; grades);
- `notices`: the mails at each step, in the member's language;
- `figures`: return rates by book and by reason, refunds over a period;
- `gdpr`: what a member wrote on their returns, for export and erasure.

Services flush, never commit.
"""

from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    """Wire this feature into the app: the member's return page (its blueprint), the admin
    pages (routes on the admin blueprint, so this runs before the admin blueprint is
    registered) and the template helpers the order pages use: `return_window_end` and
    `return_window_open` (the member's), `order_returns_and_refunds` and `return_status_label`
    (the admin's)."""
    from app.returns import requests
    from app.returns.web import (
        admin_returns,  # noqa: F401  (admin routes)
        bp,
    )

    app.register_blueprint(bp)
    app.add_template_global(requests.return_window_end, "return_window_end")
    app.add_template_global(requests.window_open, "return_window_open")
    app.add_template_global(requests.order_returns_and_refunds, "order_returns_and_refunds")
    app.add_template_global(requests.status_label, "return_status_label")
