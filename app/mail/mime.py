"""The MIME bytes of an outbox message: written directly for the outbox's one shape (text,
optional HTML alternative, no attachments), through Flask-Mail's own builder for anything else.
"""

from __future__ import annotations

import base64
import functools
import uuid
from email.header import Header as EmailHeader
from email.utils import formatdate

from flask import current_app
from flask_mail import BadHeaderError, Message, sanitize_address


class OutboxMessage(Message):
    """A Flask-Mail message whose MIME bytes are written directly for the outbox's one shape
    (text, optional HTML alternative, no attachments): much cheaper than building it through
    `email.message` with the SMTP policy, which also RFC 2047-encodes a long List-Unsubscribe
    URL into something mail clients cannot use. Anything unusual (a non-ASCII address or
    header) goes through Flask-Mail's own builder."""

    def as_bytes(self) -> bytes:
        fast = _fast_mime(self)
        return fast if fast is not None else super().as_bytes()


_CRLF = "\r\n"


@functools.lru_cache(maxsize=256)
def _subject_header(subject: str) -> str:
    if subject.isascii() and len(subject) < 900:
        return subject
    return EmailHeader(subject, "utf-8").encode(linesep=_CRLF)


@functools.lru_cache(maxsize=16)
def address_header(address: str) -> str:
    return sanitize_address(address, "utf-8")


def _part(text: str, subtype: str) -> str:
    if text.isascii() and all(len(line) < 990 for line in text.splitlines()):
        body = _CRLF.join(text.splitlines())
        encoding = "7bit"
    else:
        body = base64.encodebytes(text.encode("utf-8")).decode("ascii").replace("\n", _CRLF)
        encoding = "base64"
    return (f'Content-Type: text/{subtype}; charset="utf-8"{_CRLF}MIME-Version: 1.0{_CRLF}'
            f"Content-Transfer-Encoding: {encoding}{_CRLF}{_CRLF}{body}{_CRLF}")


def _fast_mime(msg: Message) -> bytes | None:
    recipients = [r for r in msg.recipients if isinstance(r, str)]
    extra = msg.extra_headers or {}
    if (msg.attachments or msg.cc or msg.bcc or msg.reply_to or len(recipients) != 1
            or set(msg.alts) - {"html"} or not isinstance(msg.sender, str)):
        return None
    values = [recipients[0], msg.msgId, *extra.keys(), *extra.values()]
    if not all(isinstance(v, str) and v.isascii() for v in values):
        return None
    if any("\r" in v or "\n" in v for v in values):
        raise BadHeaderError("newline in a header")
    lines = [f"Subject: {_subject_header(msg.subject or '')}",
             f"From: {address_header(msg.sender)}",
             f"To: {recipients[0]}",
             f"Date: {formatdate(msg.date, localtime=True)}",
             f"Message-ID: {msg.msgId}",
             *(f"{key}: {value}" for key, value in extra.items()),
             "MIME-Version: 1.0"]
    html = msg.alts.get("html")
    if html is None:
        text = _part(msg.body or "", "plain")
        return (_CRLF.join(lines) + _CRLF + text).encode("ascii")
    boundary = f"=============={uuid.uuid4().hex}=="
    lines.append(f'Content-Type: multipart/alternative; boundary="{boundary}"')
    return (_CRLF.join(lines) + _CRLF + _CRLF
            + f"--{boundary}{_CRLF}" + _part(msg.body or "", "plain")
            + f"--{boundary}{_CRLF}" + _part(html, "html")
            + f"--{boundary}--{_CRLF}").encode("ascii")


def message_for(row) -> Message:
    msg = OutboxMessage(
        subject=row.subject,
        recipients=[row.to_email],
        body=row.body_text,
        html=row.body_html,
        sender=current_app.config["MAIL_DEFAULT_SENDER"],
        extra_headers=dict(row.headers or {}),
    )
    msg.msgId = row.message_id
    return msg
