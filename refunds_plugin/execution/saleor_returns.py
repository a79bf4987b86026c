"""Saleor told of the returns no refund attempt tells it of (``ledger/saleor_returns``: a free
order's), as a paid order's first attempt does: ``orderFulfillmentReturnProducts`` with
``refund: false`` through ``providers/saleor/provider.record_return``, and nothing else: no
granted refund of 0, no refund request, no gift card.

Each return is held under a lease while it is worked on; its progress (the RETURNED
fulfillments already there, then "requested") is saved before the call, so a try after a lost
answer or a worker that died finds the fulfillment Saleor made instead of returning the lines
again. A retryable error (network, 5xx, a refused token) is tried again with the executor's
backoff, up to ``REFUNDS_EXECUTOR_MAX_TRIES`` tries; a final one, or the last try, ends it
``failed`` with why, journalled, logged and opened as a ``saleor_return_failed`` follow-up for
a person (``/finance/follow-ups``). The executor's loop runs a round
(``bootstrap``), as does ``refunds worker --once``.
"""

from __future__ import annotations

import logging
import random
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Engine

from refunds_plugin.config import Config
from refunds_plugin.errors import FinalProviderError, ProviderError
from refunds_plugin.execution.executor import backoff
from refunds_plugin.ledger import saleor_returns
from refunds_plugin.ledger.db import write_tx
from refunds_plugin.ledger.facts import order_extra
from refunds_plugin.ledger.saleor_returns import SaleorReturnRow
from refunds_plugin.notify import stored
from refunds_plugin.providers.saleor.provider import SaleorProvider, record_return
from refunds_plugin.trouble.follow_ups import note_saleor_return_failed

log = logging.getLogger("refunds.saleor")
LEASE = timedelta(seconds=60)  # longer than a Saleor call's timeout, twice over


class SaleorReturns:
    def __init__(self, engine: Engine, clock: Callable[[], datetime],
                 provider: SaleorProvider | None, config: Config,
                 rng: random.Random | None = None) -> None:
        self.engine = engine
        self.clock = clock
        self.provider = provider  # None: no Saleor provider, nothing to tell
        self.config = config
        self._rng = rng or random.Random()

    def run_once(self) -> int:
        """Every due return tried once; returns how many were worked on."""
        if self.provider is None:
            return 0
        with self.engine.connect() as conn:
            due = saleor_returns.due(conn, self.clock())
        return sum(self._one(decision_id) for decision_id in due)

    def _one(self, decision_id: str) -> int:
        with write_tx(self.engine) as conn:
            row = saleor_returns.claim(conn, decision_id, self.clock(), LEASE)
            if row is None:  # another worker has it, or it is no longer due
                return 0
            number = None
            try:
                saleor = order_extra(conn, row.order_id).get("saleor") or {}
                api_url, number = saleor.get("api_url"), saleor.get("order_number")
            except stored.UNREADABLE as exc:  # no try could read it
                api_url = FinalProviderError(
                    f"its order's stored extra (orders.extra) cannot be read ({stored.why(exc)});"
                    " a person must repair the row", code="unreadable")
        progress = dict(row.progress)

        def save(**values: Any) -> None:
            progress.update(values)
            with write_tx(self.engine) as conn:
                saleor_returns.save_progress(conn, decision_id, dict(progress), self.clock())

        try:
            if isinstance(api_url, ProviderError):
                raise api_url
            if not api_url:
                raise FinalProviderError(f"order {row.order_id} has no Saleor API URL on record",
                                         code="not_saleor")
            assert self.provider is not None
            record_return(self.provider.client_for(str(api_url)), row.order_id, row.lines,
                          progress, save)
        except ProviderError as exc:
            self._failed(row, exc, exc.retryable, number)
            return 1
        except Exception as exc:  # a bug or a library's error: tried again, never lost
            log.exception("recording the return of decision %s in Saleor", decision_id)
            self._failed(row, ProviderError(f"{type(exc).__name__}: {exc}", code="unexpected"),
                         True, number)
            return 1
        fulfillment = progress.get("return_fulfillment")
        with write_tx(self.engine) as conn:
            saleor_returns.recorded(conn, decision_id,
                                    None if fulfillment in (None, "none") else str(fulfillment),
                                    self.clock())
        log.info("decision %s: its return is recorded in Saleor (%s)", decision_id, fulfillment,
                 extra={"decision_id": decision_id, "order_id": row.order_id})
        return 1

    def _failed(self, row: SaleorReturnRow, exc: ProviderError, retryable: bool,
                number: object) -> None:
        now = self.clock()
        error = f"{exc.code}: {exc.message}"
        extra = {"decision_id": row.decision_id, "order_id": row.order_id}
        if retryable and row.tries < self.config.executor_max_tries:
            wait = backoff(row.tries, self.config.executor_backoff_base_s,
                           self.config.executor_backoff_cap_s, self._rng)
            with write_tx(self.engine) as conn:
                saleor_returns.retry(conn, row.decision_id, error,
                                     now + timedelta(seconds=wait), now)
            log.warning("decision %s: recording its return in Saleor failed (try %d), tried "
                        "again in %.1fs: %s", row.decision_id, row.tries, wait, error,
                        extra=extra)
            return
        why = f"gave up after {row.tries} tries: {error}" if retryable else error
        with write_tx(self.engine) as conn:
            if saleor_returns.failed(conn, row.decision_id, why, now):  # a person is told
                note_saleor_return_failed(
                    conn, order_id=row.order_id, decision_id=row.decision_id, error=why,
                    order_number=str(number) if number else None, now=now)
        log.error("decision %s: its return is not recorded in Saleor: %s", row.decision_id, why,
                  extra=extra)
