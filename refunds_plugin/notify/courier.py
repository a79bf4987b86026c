"""The courier: claims queued messages, renders and sends them, records what happened.

Run by the executor's loop after each round of refund attempts (``Executor(courier=…)``), so a
webhook's answer never waits for a mail server. Each claim is a lease (``outbox.claim_due``);
a try that fails in a way that may pass is queued again with the executor's backoff, and after
``REFUNDS_OUTBOX_MAX_TRIES`` tries (hours: a mail server or an endpoint may be down a while),
or on a final refusal, the message is ``failed``, where
finance sees it and may resend it. An endpoint that answers 410 Gone is sent no more events
(that message is ``outbox.GONE``): they wait, untried, until that message is sent again.

Exactly once, honestly: the claim and its lease keep two workers from sending one message at
the same time, and a row is marked ``sent`` right after the server accepted it. A worker that
dies after the server's acceptance and before that mark (the window is the one write
transaction after the SMTP ``250`` or the receiver's 2xx) leaves a claim that another worker
takes over when its lease runs out, and the message goes again. Neither SMTP nor HTTP lets a
sender ask "did you get this one?", so that repeat cannot be ruled out; it carries the same
Message-ID (email) or ``webhook-id`` (event), by which a receiver deduplicates. A worker that
dies before sending sends nothing twice: the next claim sends it once.
"""

from __future__ import annotations

import logging
import os
import random
import socket
import threading
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Engine

from refunds_plugin.config import Config
from refunds_plugin.execution.executor import backoff
from refunds_plugin.ledger.db import write_tx
from refunds_plugin.notify import outbox
from refunds_plugin.notify.address import reply_to, sender
from refunds_plugin.notify.mail import DeliveryError, Mailer, compose
from refunds_plugin.notify.outbound import Outbound
from refunds_plugin.notify.outbox import OutboxRow
from refunds_plugin.notify.render import Renderer

log = logging.getLogger("refunds.courier")

SKIPPED_BATCHES = 10  # a round records skipped at most this many batches' worth per reason
_NO_MAIL_URL = "not sent: REFUNDS_MAIL_URL is not set"
_NO_OUTBOUND_URL = "not sent: REFUNDS_OUTBOUND_URL is not set"
_GONE = "gone"  # in ``_down``: the endpoint answered 410 Gone this batch


def _off(kind: str) -> str:
    return f"not sent: {kind} is switched off ([mail] off)"


class Courier:
    def __init__(
        self,
        engine: Engine,
        config: Config,
        clock: Callable[[], datetime],
        renderer: Renderer,
        mailer: Mailer | None,
        outbound: Outbound | None,
        worker_id: str | None = None,
    ) -> None:
        self.engine = engine
        self.config = config
        self.clock = clock
        self.renderer = renderer
        self.mailer = mailer
        self.outbound = outbound
        self.worker_id = worker_id or f"{socket.gethostname()}:{os.getpid()}:{id(self):x}:mail"
        self._rng = random.Random()
        self._full = False  # the last claim took as many as it asked for
        # channel → why it could not be reached, this batch: its other messages are not tried
        # (a server that times out would hold the executor's loop once per message); ``_GONE``:
        # its endpoint answered 410, its others are handed back untried
        self._down: dict[str, str] = {}
        self._stopping = threading.Event()  # ``request_stop``: no more sends, claims kept

    def run_once(self, limit: int = 10) -> int:
        """Record skipped what no channel will take, then claim and deliver one batch; returns
        how many messages were skipped or claimed. Before that, a look (no write lock taken
        only to find nothing due), skipped right after a full batch: more are likely due."""
        now = self.clock()
        if self._stopping.is_set():
            return 0
        if not self._full:
            with self.engine.connect() as conn:  # a gone endpoint's events wait: not "due"
                gone = self.outbound is not None and outbox.endpoint_gone(conn) is not None
                if not outbox.any_due(conn, now, mail_only=gone):
                    return 0
        lease = timedelta(seconds=self.config.executor_lease_s)
        claimed: list[OutboxRow] = []
        with write_tx(self.engine) as conn:
            # a message no channel will take (switched off, no mail server or receiver set)
            # is never sent: it is recorded skipped here, in one statement per reason, never
            # claimed nor read;
            # one that becomes due after that statement and is claimed is skipped by
            # ``deliver``. When a reason took all it may, more are likely due: the next round
            # comes first, then the claim.
            cap = limit * SKIPPED_BATCHES
            counts = [outbox.skip_due(conn, now, note, cap, **which)
                      for note, which in self._not_taken()]
            more = cap in counts
            if not more and (self.mailer is not None or self.outbound is not None):
                gone = self.outbound is not None and outbox.endpoint_gone(conn) is not None
                claimed = outbox.claim_due(conn, self.worker_id, now, now + lease, limit,
                                           mail_only=gone)
        self._full = more or len(claimed) == limit
        skipped = sum(counts)
        self._down = {}
        for row in claimed:
            if self._stopping.is_set():  # the rest stay claimed until ``release``
                break
            self.deliver(row, claimed_at=now)
        return skipped + len(claimed)

    def _not_taken(self) -> list[tuple[str, dict[str, Any]]]:
        """What ``why_not`` says no to, as ``outbox.skip_due``'s arguments, with its note."""
        said: list[tuple[str, dict[str, Any]]] = [
            (_off(kind), {"mail": True, "kinds": (kind,)}) for kind in self.config.mail_off]
        if self.mailer is None:
            said.append((_NO_MAIL_URL, {"mail": True}))
        if self.outbound is None:
            said.append((_NO_OUTBOUND_URL, {"mail": False}))
        return said

    def drain(self, max_rounds: int = 1000) -> int:
        done = 0
        for _ in range(max_rounds):
            claimed = self.run_once()
            if not claimed:
                break
            done += claimed
        return done

    def request_stop(self) -> None:
        """Send nothing more after the message in hand (a signal handler calls it); the
        batch's others wait for ``release``, as the executor's unstarted attempts do."""
        self._stopping.set()

    @property
    def full(self) -> bool:
        """Whether the last round took a full batch (more are likely due: no pacing)."""
        return self._full

    def release(self) -> int:
        with write_tx(self.engine) as conn:
            return outbox.release(conn, self.worker_id)

    def why_not(self, row: OutboxRow) -> str | None:
        """Why a claimed message is not sent at all, or None to send it."""
        if row.channel == "mail":
            if row.kind in self.config.mail_off:
                return _off(row.kind)
            if self.mailer is None:
                return _NO_MAIL_URL
        elif self.outbound is None:
            return _NO_OUTBOUND_URL
        return None

    def send(self, row: OutboxRow) -> None:
        """Hand one message to its channel; raises ``DeliveryError``."""
        if row.channel == "mail":
            assert self.mailer is not None
            now = self.clock()
            rendered = self.renderer.render(row.kind, row.context, row.locale, now=now)
            self.mailer.send(compose(sender=sender(self.config), to=row.recipient,
                                     rendered=rendered, row_id=row.id, sent_at=now,
                                     reply_to=reply_to(self.config)))
        else:
            assert self.outbound is not None
            self.outbound.send(row.id, row.kind, row.created_at, row.context)

    def deliver(self, row: OutboxRow, claimed_at: datetime) -> str:
        """Send one claimed message and record its outcome; returns its new status."""
        skip = self.why_not(row)
        if skip is not None:
            return self._finish(row, outbox.SKIPPED, note=skip)
        if not self._still_mine(row, claimed_at):
            log.warning("outbox claim taken over before sending; skipped",
                        extra={"outbox_id": row.id})
            return outbox.SENDING
        if self._down.get(row.channel) is _GONE:  # handed back untried: it waits
            with write_tx(self.engine) as conn:
                outbox.unclaim(conn, row.id, self.worker_id)
            return outbox.QUEUED
        if row.channel in self._down:  # queued again as the batch's first, a try counted
            return self._failed(row, self._down[row.channel], True)
        try:
            self.send(row)
        except DeliveryError as exc:
            if exc.gone:
                return self._gone(row, exc.message)
            if exc.unreachable:
                self._down[row.channel] = exc.message
            return self._failed(row, exc.message, exc.retryable, exc.retry_after)
        except Exception as exc:  # a template or library bug: retry, never lose the message
            log.exception("outbox delivery raised unexpectedly", extra={"outbox_id": row.id})
            return self._failed(row, f"{type(exc).__name__}: {exc}", True)
        return self._finish(row, outbox.SENT)

    def _gone(self, row: OutboxRow, error: str) -> str:
        """The endpoint answered 410 Gone: this message is ``gone``, so that no event is sent
        (this batch's others are handed back) until a person sends it again."""
        self._down[row.channel] = _GONE
        log.error("REFUNDS_OUTBOUND_URL %s answered 410 Gone: no more events are sent to it; "
                  "they wait, recorded, until message %s is sent again (`refunds outbox resend "
                  "%s`, or Resend on /finance/outbox)", self.config.outbound_url, row.id, row.id,
                  extra={"outbox_id": row.id})
        return self._finish(row, outbox.GONE, error=error)

    def _still_mine(self, row: OutboxRow, claimed_at: datetime) -> bool:
        lease = timedelta(seconds=self.config.executor_lease_s)
        now = self.clock()
        if now < claimed_at + lease / 2:
            return True
        with write_tx(self.engine) as conn:
            return outbox.renew_lease(conn, row.id, self.worker_id, now + lease)

    def _failed(self, row: OutboxRow, error: str, retryable: bool,
                retry_after: float | None = None) -> str:
        if retryable and row.tries < self.config.outbox_max_tries:
            delay = max(backoff(row.tries, self.config.executor_backoff_base_s,
                                self.config.executor_backoff_cap_s, self._rng),
                        retry_after or 0.0)  # not before the receiver asked (Retry-After)
            log.warning("%s %s: try %d failed (%s); again in %.1fs", row.channel, row.kind,
                        row.tries, error, delay, extra={"outbox_id": row.id})
            return self._finish(row, outbox.QUEUED, error=error,
                                next_try_at=self.clock() + timedelta(seconds=delay))
        why = f"gave up after {row.tries} tries: {error}" if retryable else error
        log.error("%s %s failed: %s", row.channel, row.kind, why, extra={"outbox_id": row.id})
        return self._finish(row, outbox.FAILED, error=why)

    def _finish(self, row: OutboxRow, status: str, *, error: str | None = None,
                note: str | None = None, next_try_at: datetime | None = None) -> str:
        with write_tx(self.engine) as conn:
            held = outbox.finish(conn, row.id, self.worker_id, self.clock(), status,
                                 error=error, note=note, next_try_at=next_try_at)
        if not held:
            log.warning("outbox claim lost before its outcome was written",
                        extra={"outbox_id": row.id})
        return status
