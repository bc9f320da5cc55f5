"""One outbox message over an open Flask-Mail connection, and what the server's answers mean:
which failures are the message's own (`is_permanent`) and which are the server's or the shop's.
"""

from __future__ import annotations

import logging
import smtplib
import time
from collections.abc import Callable

from flask import current_app
from flask_mail import BadHeaderError, Message, email_dispatched

from app.mail.mime import address_header

log = logging.getLogger(__name__)


def _envelope_address(address: str) -> str:
    if address.isascii() and not any(c in address for c in '<>,"() '):
        return address  # a bare address: what sanitize_address would return, cheaper
    return address_header(address)


def send(connection, message: Message,
          before_data: Callable[[], None] | None = None) -> None:
    """`flask_mail.Connection.send` for one outbox message, minus its per-message address
    parsing (the sender's address is sanitised once per process, a bare recipient address is
    used as it is): same checks, same SMTP conversation, same `email_dispatched` signal.
    `before_data` runs after the envelope (MAIL FROM, RCPT TO), just before DATA."""
    if message.has_bad_headers():
        raise BadHeaderError
    if message.date is None:
        message.date = time.time()
    if connection.host is not None:
        _sendmail(
            connection.host,
            address_header(message.sender),
            [_envelope_address(to) for to in message.send_to],
            message.as_bytes(),
            message.mail_options,
            message.rcpt_options,
            before_data,
        )
    email_dispatched.send(current_app._get_current_object(), message=message)


def _sendmail(host: smtplib.SMTP, from_addr: str, to_addrs: list[str], msg: bytes,
              mail_options, rcpt_options, before_data: Callable[[], None] | None) -> None:
    """`smtplib.SMTP.sendmail` (same commands, answers and exceptions) with a hook before
    DATA: the server accepts a message only at the end of its DATA, so whatever
    `before_data` waits for is done before this message can have been delivered."""
    host.ehlo_or_helo_if_needed()
    options = []
    if host.does_esmtp:
        if host.has_extn("size"):
            options.append(f"size={len(msg)}")
        options.extend(mail_options)
    code, answer = host.mail(from_addr, options)
    if code != 250:
        _reset(host, code)
        raise smtplib.SMTPSenderRefused(code, answer, from_addr)
    refused = {}
    for address in to_addrs:
        code, answer = host.rcpt(address, rcpt_options)
        if code not in (250, 251):
            refused[address] = (code, answer)
        if code == 421:
            host.close()
            raise smtplib.SMTPRecipientsRefused(refused)
    if len(refused) == len(to_addrs):
        _reset(host, 250)
        raise smtplib.SMTPRecipientsRefused(refused)
    if before_data is not None:
        before_data()
    # host.data raises SMTPDataError itself when the DATA command is refused (the session,
    # not this message); an answer other than 250 after the content refuses the message.
    code, answer = host.data(msg)
    if code != 250:
        _reset(host, code)
        raise MessageRefused(code, answer)


class MessageRefused(smtplib.SMTPDataError):
    """The server's answer after the message's content was sent, other than 250."""


def _reset(host: smtplib.SMTP, code: int) -> None:
    """After a refusal, as smtplib does: 421 closes the connection, anything else RSETs."""
    if code == 421:
        host.close()
        return
    try:
        host.rset()
    except smtplib.SMTPServerDisconnected:
        pass


def error_text(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}"[:2000]


# 5xx answers that refuse the message's content itself: 552 exceeded storage (too big) and
# 554 transaction failed (content / spam policy). Enhanced codes 5.6.x (media, content) and
# 5.3.4 (too big) name the message whatever the basic code.
_CONTENT_CODES = frozenset({552, 554})


def _enhanced(answer) -> str:
    text = answer.decode("utf-8", "replace") if isinstance(answer, bytes) else str(answer)
    return text.split(None, 1)[0] if text.strip() else ""


def _refuses_recipient(code: int, answer) -> bool:
    """A 5xx to RCPT about the mailbox (550/551/553 no such user...). 530 (authentication
    required) and 5.7.x (relay denied, policy) are answers to the shop, not to the address."""
    return code >= 500 and code != 530 and not _enhanced(answer).startswith("5.7.")


def _refuses_content(code: int, answer) -> bool:
    enhanced = _enhanced(answer)
    if code < 500 or code == 530:
        return False
    return (code in _CONTENT_CODES or enhanced.startswith("5.6.") or enhanced == "5.3.4")


def is_permanent(exc: BaseException) -> bool:
    """A failure that says this message will never go out as it is, counted toward
    MAIL_MAX_ATTEMPTS (retrying it until MAIL_GIVE_UP_AFTER would only hammer the server):

    - a header that cannot be sent (BadHeaderError);
    - every recipient refused at RCPT with a 5xx about the mailbox (`_refuses_recipient`);
    - the message refused after its DATA (`MessageRefused`) for its content or size
      (552, 554, enhanced 5.6.x or 5.3.4: `_refuses_content`).

    Everything else is the server or the shop's set-up and is retried with the backoff
    until MAIL_GIVE_UP_AFTER, shown meanwhile by `delivery_trouble()`: a server that is down,
    drops the connection or answers 4xx; a 5xx to HELO, to the login, to MAIL FROM
    (530 authentication required, 550 relay denied: every message would get it), to the
    DATA command, or a 530 / 5.7.x (relay, policy) answer to RCPT or after DATA."""
    if isinstance(exc, BadHeaderError):
        return True
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        return bool(exc.recipients) and all(
            isinstance(answer, tuple) and _refuses_recipient(int(answer[0]), answer[1])
            for answer in exc.recipients.values())
    if isinstance(exc, MessageRefused):
        return _refuses_content(int(exc.smtp_code), exc.smtp_error)
    return False


def is_alive(connection) -> bool:
    try:
        return connection.host is None or connection.host.noop()[0] == 250
    except Exception:
        return False


def close_connection(connection) -> None:
    try:
        connection.__exit__(None, None, None)
    except Exception:
        log.debug("closing SMTP connection failed", exc_info=True)
