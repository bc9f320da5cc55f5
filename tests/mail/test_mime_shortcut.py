"""The sender writes the outbox's simple messages' MIME bytes itself (app.mail.mime,
`OutboxMessage`) because building them through `email.message` cost 10-20 ms each. What a
mail client reads must be exactly what Flask-Mail's own builder would have produced."""

from __future__ import annotations

from email import message_from_bytes, policy

import pytest
from flask_mail import Message

from app.mail.mime import OutboxMessage as _OutboxMessage

LONG_LINE = "word " * 300  # a 1,500-character line: must not be sent as 7bit

CASES = {
    "ascii text": dict(subject="Your order", body="Thanks for your order.\nSee you soon."),
    "text and html": dict(subject="Back in stock", body="It is back.",
                          html="<p>It is <b>back</b>.</p>"),
    "chinese": dict(subject="《三体》到货了", body="您好，王小明：\n您登记的书到货了。",
                    html="<p>您好，<b>王小明</b></p>"),
    "long line": dict(subject="A long one " * 20, body=LONG_LINE, html=f"<p>{LONG_LINE}</p>"),
    "headers": dict(subject="Unsubscribe header", body="x",
                    extra_headers={"List-Unsubscribe": "<https://shop.example/demand/"
                                   "unsubscribe/" + "a" * 180 + ">",
                                   "List-Unsubscribe-Post": "List-Unsubscribe=One-Click"}),
}


def _read(raw: bytes):
    message = message_from_bytes(raw, policy=policy.default)
    parts = {}
    for part in message.walk():
        if part.get_content_maintype() == "text":
            parts[part.get_content_type()] = part.get_content().replace("\r\n", "\n").rstrip("\n")
    headers = {name: str(message[name]) for name in
               ("Subject", "From", "To", "Message-ID", "List-Unsubscribe",
                "List-Unsubscribe-Post") if message[name] is not None}
    return headers, parts


@pytest.mark.parametrize("values", CASES.values(), ids=CASES.keys())
def test_the_shortcut_reads_the_same_as_flask_mails_builder(ctx, values):
    common = dict(recipients=["reader@example.test"], sender="Bookstation <shop@example.test>",
                  **values)
    fast, standard = _OutboxMessage(**common), Message(**common)
    for msg in (fast, standard):
        msg.msgId = "<fixed@bookstation.mail>"
        msg.date = 1_700_000_000

    fast_headers, fast_parts = _read(fast.as_bytes())
    standard_headers, standard_parts = _read(standard.as_bytes())

    assert fast_parts == standard_parts
    assert fast_headers == standard_headers | (
        {"List-Unsubscribe": values["extra_headers"]["List-Unsubscribe"]}
        if "extra_headers" in values else {})
    assert all(len(line) <= 998 for line in fast.as_bytes().split(b"\r\n"))
