"""Email through SMTP (the standard library's ``smtplib`` and ``email.message``), or printed.

``REFUNDS_MAIL_URL``: ``smtp://user:pass@host:port`` (plain, port 25), ``smtp+starttls://…``
(STARTTLS, 587), ``smtps://…`` (TLS from the start, 465), or ``console`` (printed, for
development). Unset: no emails (the outbox records them as skipped).

An SMTP server's 4xx, a dropped connection or a timeout may pass: retried. A 5xx refusal of
the message or of every recipient is final. The Message-ID is derived from the outbox row, the
same on every try, so an inbox or MTA that deduplicates by Message-ID shows a repeat once. Each
message also carries its ``Date`` (the courier's clock when it is sent, in UTC), its
``Content-Language`` (the language it is written in) and, where a reply reaches a person, a
``Reply-To`` (``notify.address``).
"""

from __future__ import annotations

import difflib
import smtplib
import ssl
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.message import EmailMessage
from email.utils import format_datetime, parseaddr
from typing import Protocol
from urllib.parse import unquote, urlsplit

from refunds_plugin.config import Config, ConfigError
from refunds_plugin.notify.address import check_addresses
from refunds_plugin.notify.kinds import KINDS
from refunds_plugin.notify.render import Rendered

DEFAULT_PORTS = {"smtp": 25, "smtp+starttls": 587, "smtps": 465}


class DeliveryError(Exception):
    """A message was not delivered; ``retryable`` says whether another try may help,
    ``retry_after`` (seconds) how long the receiver asked us to wait before it, and
    ``unreachable`` that the server or endpoint could not be reached at all (the courier
    then waits on it once a batch, not once a message), ``gone`` that the endpoint takes no
    more messages (410 Gone: the courier sends it none until a person re-enables it)."""

    def __init__(self, message: str, *, retryable: bool, retry_after: float | None = None,
                 unreachable: bool = False, gone: bool = False) -> None:
        super().__init__(message)
        self.message = message
        self.retryable = retryable
        self.retry_after = retry_after
        self.unreachable = unreachable
        self.gone = gone


class Mailer(Protocol):
    def send(self, message: EmailMessage) -> None: ...


@dataclass(frozen=True)
class SmtpSettings:
    scheme: str
    host: str
    port: int
    username: str = ""
    password: str = field(default="", repr=False)


def parse_mail_url(url: str) -> SmtpSettings:
    """``smtp[s|+starttls]://[user:pass@]host[:port]``, or a ``ConfigError`` naming the problem
    (never the password)."""
    parts = urlsplit(url)
    if parts.scheme not in DEFAULT_PORTS or not parts.hostname:
        raise ConfigError("REFUNDS_MAIL_URL must be console, smtp://host:port, "
                          "smtp+starttls://user:pass@host:587 or smtps://user:pass@host:465")
    try:
        port = parts.port or DEFAULT_PORTS[parts.scheme]
    except ValueError:
        raise ConfigError("REFUNDS_MAIL_URL has a port that is not a number") from None
    return SmtpSettings(parts.scheme, parts.hostname, port, unquote(parts.username or ""),
                        unquote(parts.password or ""))


class SmtpMailer:
    def __init__(self, settings: SmtpSettings, timeout: float = 15.0) -> None:
        self.settings = settings
        self.timeout = timeout

    def _connect(self) -> smtplib.SMTP:
        s = self.settings
        if s.scheme == "smtps":
            return smtplib.SMTP_SSL(s.host, s.port, timeout=self.timeout,
                                    context=ssl.create_default_context())
        client = smtplib.SMTP(s.host, s.port, timeout=self.timeout)
        if s.scheme == "smtp+starttls":
            client.starttls(context=ssl.create_default_context())
        return client

    def send(self, message: EmailMessage) -> None:
        try:
            client = self._connect()
            try:
                if self.settings.username:
                    client.login(self.settings.username, self.settings.password)
                refused = client.send_message(message)
            finally:
                _hang_up(client)
        except smtplib.SMTPRecipientsRefused as exc:
            codes = [code for code, _ in exc.recipients.values()]
            raise DeliveryError(f"every recipient refused: {_said(exc.recipients)}",
                                retryable=any(c < 500 for c in codes)) from None
        except smtplib.SMTPAuthenticationError as exc:  # the merchant can fix the login
            raise DeliveryError(f"SMTP login refused ({exc.smtp_code})", retryable=True) from None
        except smtplib.SMTPResponseException as exc:
            text = exc.smtp_error.decode(errors="replace") if isinstance(exc.smtp_error, bytes) \
                else str(exc.smtp_error)
            raise DeliveryError(f"SMTP {exc.smtp_code}: {text}"[:500],
                                retryable=exc.smtp_code < 500) from None
        except smtplib.SMTPNotSupportedError as exc:
            raise _not_offered(exc, message) from None
        except (smtplib.SMTPException, OSError) as exc:
            raise DeliveryError(f"SMTP server unreachable: {type(exc).__name__}: {exc}"[:500],
                                retryable=True, unreachable=_unreachable(exc)) from None
        if refused:  # one recipient per message: a partial refusal cannot happen, but say so
            raise DeliveryError(f"refused: {_said(refused)}", retryable=False)


def _not_offered(exc: smtplib.SMTPNotSupportedError, message: EmailMessage) -> DeliveryError:
    """The server does not offer what sending needs: SMTPUTF8 for an address that is not
    ASCII (``send_message`` asks for it where offered) is this message's own and never comes,
    so final; STARTTLS or AUTH is the server's setting, which the merchant may fix."""
    if "SMTPUTF8" in str(exc):
        used = [parseaddr(str(message[h]))[1] for h in ("To", "From")]
        to = next((a for a in used if not a.isascii()), used[0])
        whom = "write to the customer another way" if to == used[0] else "fix REFUNDS_MAIL_FROM"
        return DeliveryError(f"the address {to} is not ASCII, which needs SMTPUTF8, and the "
                             f"mail server does not offer it: not sent; {whom}",
                             retryable=False)
    return DeliveryError(f"the SMTP server does not offer what sending needs: {exc}"[:500],
                         retryable=True)


def _unreachable(exc: OSError) -> bool:
    """The server, not this message: no connection (refused, timed out) or a dropped one;
    not an SMTP refusal of this message's own (``SMTPNotSupportedError``: SMTPUTF8)."""
    return isinstance(exc, smtplib.SMTPServerDisconnected) or \
        not isinstance(exc, smtplib.SMTPException)


def _hang_up(client: smtplib.SMTP) -> None:
    """QUIT, whatever the server answers: after its 250 to DATA the message is its own, so a
    4xx or 5xx to QUIT (which ``with smtplib.SMTP`` raises) must not retry it nor fail it."""
    try:
        client.quit()
    except (smtplib.SMTPException, OSError):
        client.close()


def _said(refused: dict[str, tuple[int, bytes]]) -> str:
    return "; ".join(f"{to}: {code} {text.decode(errors='replace')}"
                     for to, (code, text) in refused.items())[:500]


class ConsoleMailer:
    """Prints each message (development): ``REFUNDS_MAIL_URL=console``."""

    def __init__(self, write: Callable[[str], object] | None = None) -> None:
        self.write = write or sys.stdout.write

    def send(self, message: EmailMessage) -> None:
        text = message.get_body(("plain",))
        body = text.get_content() if text is not None else ""
        self.write(f"--- email {message['Message-ID']}\nFrom: {message['From']}\n"
                   f"To: {message['To']}\nSubject: {message['Subject']}\n\n{body}\n")


def emailed(config: Config, kind: str) -> bool:
    """Whether the courier would send a mail of ``kind`` at all (a mail URL is set and the kind
    is not switched off), so a page never says "we have sent" an email that is skipped."""
    return bool(config.mail_url) and kind not in config.mail_off


def check_mail_off(config: Config) -> None:
    """``REFUNDS_MAIL_OFF`` (``[mail] off``) names only email kinds: a misspelt one would
    switch nothing off while the merchant believes it off, so it stops the start instead."""
    kinds = sorted(k.name for k in KINDS.values() if k.channel == "mail")
    for name in config.mail_off:
        if name not in kinds:
            near = difflib.get_close_matches(name, kinds, 1)
            hint = f"did you mean {near[0]!r}? " if near else ""
            if name in KINDS:  # an event: it goes to REFUNDS_OUTBOUND_URL, not to a customer
                hint = "that is an event for your systems (REFUNDS_OUTBOUND_URL); "
            raise ConfigError(f"REFUNDS_MAIL_OFF ([mail] off) names {name!r}, which is no email "
                              f"kind: {hint}the kinds are {', '.join(kinds)}")


def check_mail(config: Config) -> None:
    """Every mail setting as the courier will read it, or a ``ConfigError`` naming it: the
    kinds switched off, the From and Reply-To, the mail URL (never its password)."""
    check_mail_off(config)
    check_addresses(config)
    if config.mail_url and config.mail_url != "console":
        parse_mail_url(config.mail_url)


def build_mailer(config: Config) -> Mailer | None:
    check_mail(config)
    if not config.mail_url:
        return None
    if config.mail_url == "console":
        return ConsoleMailer()
    return SmtpMailer(parse_mail_url(config.mail_url))


def compose(*, sender: str, to: str, rendered: Rendered, row_id: str, sent_at: datetime,
            reply_to: str | None = None) -> EmailMessage:
    """A multipart/alternative message: the plain text first, the HTML after it. ``sent_at``:
    the courier's clock as it sends (``Date``, UTC); ``reply_to``: where a reply reaches a
    person, or None (no ``Reply-To``)."""
    domain = parseaddr(sender)[1].rpartition("@")[2] or "refunds-plugin.invalid"
    message = EmailMessage()
    message["From"] = sender
    message["To"] = to
    if reply_to and reply_to != sender:
        message["Reply-To"] = reply_to
    message["Subject"] = rendered.subject
    # UTC as RFC 5322 prefers it (``+0000``); the header registry would rewrite ``GMT`` so
    message["Date"] = format_datetime(sent_at.astimezone(UTC))
    message["Message-ID"] = f"<{row_id}@{domain}>"
    message["Auto-Submitted"] = "auto-generated"
    message.set_content(rendered.text)
    message.add_alternative(rendered.html, subtype="html")
    # after the parts: making the message multipart moves its Content-* headers into the first
    message["Content-Language"] = rendered.locale
    return message
