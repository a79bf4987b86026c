"""Asking Saleor where no webhook will tell: re-query orders with a refund still ``sent``.

A payment app that declines a refund (REFUND_FAILURE, or Saleor giving up after its 5xx
answers) changes only the granted refund's status, and Saleor sends order webhooks only when
the authorized, charged or refunded amounts change. So while a Saleor refund attempt is
``sent`` or ``unknown`` its order is re-queried, and the poller never gives up while it waits:
5, 15 and 35 s after the attempt last changed, then every 45 s (``cap_s``), so whatever Saleor
learns reaches the ledger within a minute. An attempt still waiting after six hours
(``slow_after_s``: the app is down or never answers) is looked at every five minutes
(``slow_s``) from then on; a webhook still settles it at once when one comes. Each re-query goes
through the service's one event skeleton (``Service.saleor_requery``): the same inbox key as a
webhook bringing that state, the journal noting ``seen by saleor_poll``.

The schedule is a fixed series of times after the attempt last changed, so a restarted worker
(or ``refunds worker --once`` from cron, which keeps nothing between runs) looks at every
attempt that is due at once and then keeps the same rhythm; several workers may re-query one
order, and the inbox applies each state once.
"""

from __future__ import annotations

import logging
import math
from collections import Counter
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Engine

from refunds_plugin.ledger.claims import awaiting_outcome

log = logging.getLogger("refunds.poller")


def next_look(age_s: float, *, first_s: float = 5.0, cap_s: float = 45.0,
              slow_after_s: float = 6 * 3600, slow_s: float = 300.0) -> float:
    """The first scheduled look strictly after ``age_s`` seconds since the attempt last changed:
    ``first_s`` then steps of twice and four times it (5, 15, 35 s), then every ``cap_s``; from
    the last of those at or before ``slow_after_s``, every ``slow_s``."""
    at = 0.0
    for step in (first_s, 2 * first_s, 4 * first_s):
        at += step
        if at > age_s:
            return at
    if age_s < slow_after_s:
        bounded = at + cap_s * (math.floor((age_s - at) / cap_s) + 1)
        if bounded <= slow_after_s:
            return bounded
    last_fast = at + cap_s * max(math.floor((slow_after_s - at) / cap_s), 0)
    return last_fast + slow_s * (math.floor((age_s - last_fast) / slow_s) + 1)


class SaleorPoller:
    def __init__(
        self,
        engine: Engine,
        requery: Callable[[str], Any],  # Service.saleor_requery: re-query and apply one order
        clock: Callable[[], datetime],
        *,
        first_s: float = 5.0,
        cap_s: float = 45.0,
        slow_after_s: float = 6 * 3600,
        slow_s: float = 300.0,
        observe: Callable[[str], None] | None = None,  # outcome per attempt, for metrics
    ) -> None:
        self.engine, self.requery, self.clock = engine, requery, clock
        self._schedule = {"first_s": first_s, "cap_s": cap_s, "slow_after_s": slow_after_s,
                          "slow_s": slow_s}
        self.first_s = first_s
        self.observe = observe
        # attempt id -> (when it last changed, next look): a new change starts a new schedule
        self._next: dict[str, tuple[datetime, datetime]] = {}
        self.last: Counter[str] = Counter()  # the last round's outcomes, per attempt looked at

    def _waiting(self) -> list[tuple[str, str, datetime]]:
        with self.engine.connect() as conn:
            return awaiting_outcome(conn, "saleor")

    def poll_once(self) -> int:
        """Re-query the orders whose waiting attempts are due; returns how many orders."""
        now = self.clock()
        schedule: dict[str, tuple[datetime, datetime]] = {}
        due: dict[str, str] = {}  # attempt id -> order id
        for attempt_id, order_id, since in self._waiting():
            known = self._next.get(attempt_id)
            if known is None or known[0] != since:  # new to this process: due from first_s
                known = (since, since + timedelta(seconds=self.first_s))
            schedule[attempt_id] = known
            if now >= known[1]:
                due[attempt_id] = order_id
        self._next = schedule  # settled attempts are forgotten
        self.last = Counter()
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
            since = schedule[attempt_id][0]
            age = (now - since).total_seconds()
            schedule[attempt_id] = (
                since, since + timedelta(seconds=next_look(age, **self._schedule)))
            outcome = ("error" if order_id in failed else "settled" if attempt_id not in still
                       else "unchanged")
            self.last[outcome] += 1
            if self.observe is not None:
                self.observe(outcome)
        return len(set(due.values()))
