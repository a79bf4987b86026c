"""The exchange's outbound steps, recorded and retried like refund attempts: the Checkout
Session for a dearer item's difference, and on Saleor the replacement order (recorded at
approval, completed once ship_on is reached). One worker at a time holds an exchange (a lease);
each step's result is saved before the next; errors are retried with backoff, then a person
is told (``shipping.tell_a_person``). A replacement Saleor will not complete for stock is not
retried: the exchange falls back to the policy's refund or credit (``fallback.out_of_stock``).
An exchange that is not a Saleor order and whose ``exchange.ready_to_ship`` no receiver takes
(``REFUNDS_OUTBOUND_URL`` unset: ``announced`` False) is never marked shipped: it stays ready
and a person is told to ship it (``shipping.nobody_ships``)."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection, Engine, select

from refunds_plugin.domain.decision import Exchange
from refunds_plugin.errors import ProviderError
from refunds_plugin.exchanges.difference import LinkExpirer
from refunds_plugin.exchanges.dues import DueCharger
from refunds_plugin.exchanges.shipping import (
    TOLD_A_PERSON,
    checkout_opened,
    no_return_to_wait_for,
    nobody_ships,
    tell_a_person,
)
from refunds_plugin.ledger import exchanges
from refunds_plugin.ledger.db import aware, write_tx
from refunds_plugin.ledger.exchanges import ExchangeRow
from refunds_plugin.ledger.facts import order_extra
from refunds_plugin.ledger.tables import decisions, orders
from refunds_plugin.money import Money
from refunds_plugin.notify import stored
from refunds_plugin.providers.saleor.replacement import SaleorReplacement
from refunds_plugin.providers.stripe import CheckoutRequest, StripeProvider, open_checkout
from refunds_plugin.saleor.client import MutationError

log = logging.getLogger("refunds.exchanges")


@dataclass(frozen=True)
class Unreadable:
    """An order's stored ``extra`` that cannot be read: why, never what it holds."""

    why: str


def _api_url(conn: Connection, order_id: str) -> str | None | Unreadable:
    """The Saleor API the order came from (None: not a Saleor order)."""
    try:
        saleor = order_extra(conn, order_id).get("saleor") or {}
        return str(saleor["api_url"]) if saleor.get("api_url") else None
    except stored.UNREADABLE as exc:
        return Unreadable(stored.why(exc))
SOLD_OUT = "INSUFFICIENT_STOCK"  # Saleor's error code: a line's variant is short of stock
# (conn, exchange, why, now) → (note, attempts to nudge), inside the caller's transaction
OutOfStock = Callable[[Connection, ExchangeRow, str, datetime], tuple[str, tuple[str, ...]]]


class ExchangeWorker:
    def __init__(self, engine: Engine, clock: Callable[[], datetime], *,
                 stripe: StripeProvider | None, saleor: SaleorReplacement | None,
                 return_url: str, max_tries: int = 5, lease_s: int = 60,
                 backoff_s: float = 2.0, out_of_stock: OutOfStock | None = None,
                 nudge: Callable[[tuple[str, ...]], None] | None = None,
                 announced: bool = True) -> None:
        self.engine = engine
        self.clock = clock
        self.stripe = stripe
        self.saleor = saleor
        self.return_url = return_url
        self.max_tries = max_tries
        self.lease_s = lease_s
        self.backoff_s = backoff_s
        # the replacement cannot ship for stock: the policy's fallback (``fallback.out_of_stock``
        # with the policy and the router); None: a person is told, as for any other error
        self.out_of_stock = out_of_stock
        self.nudge = nudge  # the executor: the fallback's attempts are due
        # the merchant's systems receive ``exchange.ready_to_ship`` (REFUNDS_OUTBOUND_URL set)
        self.announced = announced
        # an instant exchange's original that never came back: its value's Checkout Session
        self.dues = DueCharger(engine, clock, stripe, return_url, max_tries, backoff_s)
        # an exchange that fell back while its difference's link was open: expired at Stripe
        self.links = LinkExpirer(engine, clock, stripe, max_tries, backoff_s)

    # --- the Checkout Session ---------------------------------------------------------------
    def open_checkout(self, decision_id: str) -> str | None:
        """The URL where the customer pays the difference; made once per exchange (the
        idempotency key is the decision's), None while it cannot be made."""
        with self.engine.connect() as conn:
            row = exchanges.get_exchange(conn, decision_id)
            email = conn.execute(select(orders.c.customer_email).where(
                orders.c.order_id == row.order_id)).scalar() if row else None
        if row is None or row.status != "awaiting_payment":
            return None
        if row.checkout_url:
            return row.checkout_url
        if self.stripe is None:
            self._failed(row, "no Stripe key is configured to take the difference")
            return None
        amount = Money(row.charge_amount, row.currency)
        req = CheckoutRequest(row.decision_id, row.order_id, row.charge_amount, row.currency,
                              f"Exchange for order {row.order_id}: price difference {amount}",
                              self.return_url, email)
        try:
            session = open_checkout(self.stripe, req)
        except ProviderError as exc:
            self._failed(row, exc.message)
            return None
        with write_tx(self.engine) as conn:
            now = self.clock()
            made = exchanges.set_checkout(conn, row.decision_id, session.id, session.url, now)
            row = exchanges.get_exchange(conn, decision_id)
            if made and row is not None:  # the customer's approved mail, with the link
                checkout_opened(conn, row, now)
        return row.checkout_url if row else None

    def advance(self, decision_id: str) -> None:
        """Right after the decision: the Checkout Session (its URL goes in the answer), or on
        Saleor the return and replacement draft, and an instant exchange shipped. What fails
        here is retried by the loop."""
        with self.engine.connect() as conn:
            row = exchanges.get_exchange(conn, decision_id)
            api_url = order_extra(conn, row.order_id).get("saleor", {}).get("api_url") \
                if row else None
        if row is None:
            return
        if row.status == "awaiting_payment":
            self.open_checkout(decision_id)
            return
        if api_url and self.saleor is not None and not row.progress.get("replacement"):
            self._step(row, "record", api_url)
        with self.engine.connect() as conn:
            row = exchanges.get_exchange(conn, decision_id)
        if row is not None and row.status == "ready" and row.tries == 0:
            self._step(row, "ship", api_url)

    # --- the loop -------------------------------------------------------------------------------
    def run_once(self) -> int:
        """One round: exchanges waiting for a parcel no return was opened for made ready
        (``shipping.no_return_to_wait_for``), the originals' dues to charge or expire
        (``dues.DueCharger``), ended exchanges' open links expired (``difference``), sessions
        not yet made, Saleor returns not yet recorded, ready exchanges shipped.
        Returns how many exchanges it worked on."""
        now = self.clock()
        unreadable: dict[str, str] = {}
        released = 0
        with self.engine.connect() as conn:  # none waits for a parcel no return was opened for
            stuck = bool(exchanges.waiting_without_return(conn, limit=1))
        if stuck:
            with write_tx(self.engine) as conn:
                released = no_return_to_wait_for(conn, now)
        with self.engine.connect() as conn:
            rows = [r for status in ("awaiting_payment", "waiting", "ready")
                    for r in exchanges.due(conn, status, unreadable=unreadable)]
            apis = {r.order_id: _api_url(conn, r.order_id) for r in rows}
        worked = released + self.dues.run_once() + self.links.run_once()
        for row in rows:
            if row.decision_id in unreadable:  # what an earlier try did there is unknown
                self._unreadable(row, "progress (exchanges.progress)",
                                 f"{unreadable[row.decision_id]}; an earlier try may have "
                                 "made its Saleor orders, check")
                worked += 1
                continue
            if not self._due(row, now):
                continue
            api_url = apis.get(row.order_id)
            if isinstance(api_url, Unreadable) and row.status != "awaiting_payment":
                # whether it is a Saleor order (recorded and shipped there) cannot be known
                self._unreadable(row, "order (orders.extra)", api_url.why)
                worked += 1
                continue
            api_url = api_url if isinstance(api_url, str) else None
            if row.status == "awaiting_payment":
                if row.checkout_session_id is None:
                    self.open_checkout(row.decision_id)
                    worked += 1
            elif api_url and self.saleor is not None and not row.progress.get("replacement"):
                worked += self._step(row, "record", api_url)
            elif row.status == "ready" and not row.progress.get(TOLD_A_PERSON):
                worked += self._step(row, "ship", api_url)
        return worked

    def _due(self, row: ExchangeRow, now: datetime) -> bool:
        """Not failed before, or failed long enough ago (exponential backoff)."""
        if not row.tries:
            return True
        waited = (now - aware(row.updated_at)).total_seconds()
        return waited >= self.backoff_s * 2 ** row.tries

    def _step(self, row: ExchangeRow, step: str, api_url: str | None) -> int:
        now = self.clock()
        with write_tx(self.engine) as conn:
            if not exchanges.claim(conn, row.decision_id, now, self.lease_s):
                return 0  # another worker holds it
            fresh = exchanges.get_exchange(conn, row.decision_id)
            body = conn.execute(select(decisions.c.body).where(
                decisions.c.id == row.decision_id)).scalar_one()
        try:
            exchange = stored.decision(body).exchange
        except stored.UNREADABLE as exc:
            if fresh is not None and fresh.status == row.status:
                self._unreadable(fresh, "decision (decisions.body)", stored.why(exc))
            with write_tx(self.engine) as conn:
                exchanges.release(conn, row.decision_id)
            return 1
        try:
            if fresh is None or exchange is None or fresh.status != row.status:
                return 0
            if step == "record":
                self._record(fresh, exchange, str(api_url))
            else:
                self._ship(fresh, exchange, api_url)
        except ProviderError as exc:
            assert fresh is not None
            if step == "ship" and self.out_of_stock is not None and isinstance(
                    exc, MutationError) and SOLD_OUT in exc.codes:
                self._sold_out(fresh, exc.message)
            else:
                self._failed(fresh, exc.message)
        finally:
            with write_tx(self.engine) as conn:
                exchanges.release(conn, row.decision_id)
        return 1

    def _save(self, row: ExchangeRow) -> Callable[[dict[str, object]], None]:
        def save(progress: dict[str, object]) -> None:
            replacement = progress.get("replacement")
            with write_tx(self.engine) as conn:
                exchanges.save_progress(conn, row.decision_id, dict(progress), self.clock(),
                                        str(replacement) if replacement else None)
        return save

    def _record(self, row: ExchangeRow, exchange: Exchange, api_url: str) -> None:
        assert self.saleor is not None
        self.saleor.record(api_url, row.order_id, exchange, row.progress, self._save(row))

    def _ship(self, row: ExchangeRow, exchange: Exchange, api_url: str | None) -> None:
        replacement = None
        if api_url and self.saleor is not None:
            self.saleor.complete(api_url, exchange, row.progress, self._save(row))
            replacement = row.progress.get("replacement")
        elif not self.announced:  # nothing tells the shop to ship: it stays ready, for a person
            with write_tx(self.engine) as conn:
                nobody_ships(conn, row, exchange, self.clock())
                exchanges.save_progress(conn, row.decision_id,
                                        {**row.progress, TOLD_A_PERSON: True}, self.clock())
            log.warning("exchange %s: ready to ship, but no channel tells the shop to ship it "
                        "(REFUNDS_OUTBOUND_URL is not set, not a Saleor order): a follow-up "
                        "is open for a person", row.decision_id)
            return
        with write_tx(self.engine) as conn:
            exchanges.shipped(conn, row.decision_id, replacement, self.clock())

    def _sold_out(self, row: ExchangeRow, why: str) -> None:
        """Saleor will not complete the replacement for stock: no retry would help; the
        exchange falls back to the refund or credit the policy offers, never shipped."""
        assert self.out_of_stock is not None
        with write_tx(self.engine) as conn:
            note, attempt_ids = self.out_of_stock(conn, row, why, self.clock())
        log.warning("exchange %s: %s", row.decision_id, note)
        if attempt_ids and self.nudge is not None:
            self.nudge(attempt_ids)

    def _unreadable(self, row: ExchangeRow, what: str, why: str) -> None:
        """A stored row the exchange's step is read from cannot be read (edited by hand, cut
        short by a restore): no try can succeed, so none is made; the exchange is ``failed``
        at once and its decision goes to a person (``tell_a_person``: a review and one error
        naming the decision and order, never what the row holds). The round goes on."""
        said = (f"not sent: its stored {what} cannot be read ({why}); a person must repair "
                "the row")
        with write_tx(self.engine) as conn:
            if exchanges.note_failure(conn, row, said, self.clock(), give_up=True):
                tell_a_person(conn, row, said, self.clock(), code="exchange_unreadable")

    def _failed(self, row: ExchangeRow, why: str) -> None:
        now = self.clock()
        give_up = row.tries + 1 >= self.max_tries
        with write_tx(self.engine) as conn:
            if exchanges.note_failure(conn, row, why, now, give_up=give_up):
                tell_a_person(conn, row, why, now)
        log.warning("exchange %s: %s (try %d)", row.decision_id, why, row.tries + 1)
