"""Asking Saleor where no webhook will tell: re-query orders with a refund still ``sent``.

A payment app that declines a refund (REFUND_FAILURE, or Saleor giving up after its 5xx
answers) changes only the granted refund's status, and Saleor sends order webhooks only when
the authorized, charged or refunded amounts change. So while a Saleor refund attempt is
``sent`` or ``unknown`` the order is re-queried: 5 s after the attempt last changed, then
after 10, 20, 40 ... s (at most ``cap_s`` apart), ``max_polls`` times in all; then the webhook
that comes when the app does answer is left to settle it. Each re-query goes through the
service's one event skeleton (``Service.saleor_requery``): the same inbox key as a webhook
bringing that state, the journal noting ``seen by saleor_poll``.

The schedule lives in this process (a restarted worker starts it again, bounded again); several
workers may re-query one order, and the inbox applies each state once.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Engine

from refunds_plugin.ledger.claims import awaiting_outcome

log = logging.getLogger("refunds.poller")


@dataclass
class _Watch:
    since: datetime  # when the attempt last changed: a new change starts a new schedule
    polls: int
    next_at: datetime


class SaleorPoller:
    def __init__(
        self,
        engine: Engine,
        requery: Callable[[str], Any],  # Service.saleor_requery: re-query and apply one order
        clock: Callable[[], datetime],
        *,
        first_s: float = 5.0,
        cap_s: float = 300.0,
        max_polls: int = 10,
        observe: Callable[[str], None] | None = None,  # outcome per attempt, for metrics
    ) -> None:
        self.engine, self.requery, self.clock = engine, requery, clock
        self.first_s, self.cap_s, self.max_polls = first_s, cap_s, max_polls
        self.observe = observe
        self._watch: dict[str, _Watch] = {}

    def _waiting(self) -> list[tuple[str, str, datetime]]:
        with self.engine.connect() as conn:
            return awaiting_outcome(conn, "saleor")

    def poll_once(self) -> int:
        """Re-query the orders whose waiting attempts are due; returns how many orders."""
        now = self.clock()
        watch: dict[str, _Watch] = {}
        due: dict[str, str] = {}  # attempt id -> order id
        for attempt_id, order_id, since in self._waiting():
            w = self._watch.get(attempt_id)
            if w is None or w.since != since:
                w = _Watch(since, 0, since + timedelta(seconds=self.first_s))
            watch[attempt_id] = w
            if w.polls < self.max_polls and now >= w.next_at:
                due[attempt_id] = order_id
        self._watch = watch  # settled attempts are forgotten
        if not due:
            return 0
        failed: set[str] = set()
        for order_id in sorted(set(due.values())):
            try:
                self.requery(order_id)
            except Exception:  # Saleor down, app removed: counted, tried again on schedule
                log.exception("could not re-query Saleor order", extra={"order_id": order_id})
                failed.add(order_id)
        still = {attempt_id for attempt_id, _, _ in self._waiting()}
        for attempt_id, order_id in due.items():
            w = watch[attempt_id]
            w.polls += 1
            w.next_at = now + timedelta(seconds=min(self.cap_s, self.first_s * 2 ** w.polls))
            outcome = ("error" if order_id in failed else "settled" if attempt_id not in still
                       else "gave_up" if w.polls >= self.max_polls else "unchanged")
            if self.observe is not None:
                self.observe(outcome)
        return len(set(due.values()))
