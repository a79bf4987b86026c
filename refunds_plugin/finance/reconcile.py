"""Reconciliation: page through the provider's refunds and list every difference with the ledger.

A refund the provider holds that the ledger does not know, a refund the ledger says was sent
that the provider does not hold, and any refund whose amount or status differs are all
reported, each naming the refund id and our attempt. Stripe's refunds are listed by date;
Saleor has no such list, so every Saleor order the ledger touched since then is re-queried and
its granted refunds (and this app's refund requests on its transactions) are compared.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Engine, or_, select

from refunds_plugin.domain.kinds import AttemptStatus
from refunds_plugin.ledger.provider_refunds import RELEASED
from refunds_plugin.ledger.tables import orders, payments, provider_refunds, refund_attempts
from refunds_plugin.money import written
from refunds_plugin.saleor.events import (
    ATTEMPT_TARGET,
    GRANT_STATUS,
    REQUEST_OUTCOME,
    SaleorEvents,
)
from refunds_plugin.saleor.order import SaleorOrder
from refunds_plugin.stripe.refunded_total import REFUND_STATUS

PAGE = 100
# our attempt status -> the Stripe refund statuses that agree with it: Stripe's map read
# backwards, and a canceled attempt agrees with a canceled refund
AGREES: dict[str, tuple[str, ...]] = {
    ours.value: tuple(theirs for theirs, meant in REFUND_STATUS.items() if meant == ours)
    for ours in dict.fromkeys(REFUND_STATUS.values())
} | {AttemptStatus.CANCELED.value: ("canceled",)}
# the same for Saleor, in the words ``provider_refunds`` keeps (``saleor.events.GRANT_STATUS``):
# our attempt's status agrees with the grant status Saleor's own word maps to
SALEOR_AGREES: dict[str, tuple[str, ...]] = {
    target.value: (GRANT_STATUS[grant],) for grant, target in ATTEMPT_TARGET.items()
}


@dataclass(frozen=True)
class ProviderRefund:
    id: str
    amount: int
    currency: str
    status: str
    payment_reference: str | None
    created: int


@dataclass(frozen=True)
class Mismatch:
    kind: str  # missing_in_ledger | missing_at_provider | amount | status | refunded_total
    refund_id: str | None
    attempt_id: str | None
    ledger: str
    provider: str

    def to_json(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "refund_id": self.refund_id,
            "attempt_id": self.attempt_id,
            "ledger": self.ledger,
            "provider": self.provider,
        }


def stripe_refunds(list_page: Callable[[dict[str, Any]], Any], since: datetime,
                   page_size: int = PAGE) -> Iterator[ProviderRefund]:
    """Every Stripe refund created at or after ``since``, page by page (``starting_after``);
    ``list_page``: one page of ``GET /v1/refunds`` (``StripeProvider.refunds_page``)."""
    after: str | None = None
    while True:
        params: dict[str, Any] = {"limit": page_size, "created": {"gte": int(since.timestamp())}}
        if after:
            params["starting_after"] = after
        page = list_page(params)
        for item in page.data:
            yield ProviderRefund(
                id=item.id,
                amount=int(item.amount),
                currency=str(item.currency).upper(),
                status=str(item.status),
                payment_reference=getattr(item, "payment_intent", None)
                or getattr(item, "charge", None),
                created=int(item.created),
            )
            after = item.id
        if not page.has_more or not page.data:
            return


def saleor_orders(saleor: SaleorEvents, engine: Engine, since: datetime) -> list[SaleorOrder]:
    """The Saleor orders the ledger touched since ``since``, each re-queried from its Saleor
    with the installed app's token (one query an order)."""
    ra, pr = refund_attempts.c, provider_refunds.c
    with engine.connect() as conn:
        order_ids = conn.execute(
            select(orders.c.order_id).where(
                orders.c.source == "saleor",
                or_(orders.c.updated_at >= since,
                    orders.c.order_id.in_(select(ra.order_id).where(ra.created_at >= since)),
                    orders.c.order_id.in_(select(pr.order_id).where(pr.updated_at >= since))),
            ).order_by(orders.c.order_id)
        ).scalars().all()
    return [so for order_id in order_ids if (so := saleor.fetch_known(order_id)) is not None]


def saleor_refunds(saleor: SaleorEvents, engine: Engine, since: datetime,
                   fetched: list[SaleorOrder] | None = None) -> Iterator[ProviderRefund]:
    """Every granted refund, and every refund request of this app's own on a transaction, of
    the Saleor orders the ledger touched since ``since`` (``fetched``: already re-queried)."""
    ra = refund_attempts.c
    with engine.connect() as conn:
        ours = set(conn.execute(select(ra.provider_reference).where(
            ra.provider == "saleor", ra.provider_reference.is_not(None))).scalars())
    for so in fetched if fetched is not None else saleor_orders(saleor, engine, since):
        cur = so.record.currency
        granted = {ev for g in so.granted_refunds for ev in g.events}
        for g in so.granted_refunds:
            yield ProviderRefund(g.id, g.amount, cur, GRANT_STATUS.get(g.status, g.status.lower()),
                                 g.transaction_id, 0)
        for pay in so.payments:
            events = sorted(pay.events, key=lambda e: (e.created or since, e.id))
            for i, req in enumerate(events):
                if req.type != "REFUND_REQUEST" or req.id in granted or req.id not in ours:
                    continue
                done = next((e.type for e in events[i + 1:] if e.amount == req.amount
                             and e.type in REQUEST_OUTCOME), "")
                status = REQUEST_OUTCOME.get(done, AttemptStatus.PENDING).value
                yield ProviderRefund(req.id, req.amount, cur, status, pay.reference, 0)


def saleor_refunded_totals(engine: Engine, fetched: list[SaleorOrder]) -> list[Mismatch]:
    """Each transaction's refunded amount as Saleor says it now, against what the ledger last
    learned (``payments.refunded_reported``): money given back outside this app (at the payment
    provider, or by staff) that no webhook brought to the ledger is named, as is a transaction
    the ledger never recorded."""
    pay = payments.c
    out: list[Mismatch] = []
    with engine.connect() as conn:
        for so in fetched:
            cur = so.record.currency
            for tx in so.payments:
                if tx.captured <= 0:
                    continue
                known = conn.execute(select(pay.refunded_reported).where(
                    pay.provider == "saleor", pay.reference == tx.reference)).scalar_one_or_none()
                saleor_says = f"{written(tx.refunded, cur)} refunded"
                if known is None:
                    out.append(Mismatch("missing_in_ledger", tx.reference, None, "-",
                                        f"payment of {written(tx.captured, cur)}, {saleor_says}"))
                elif int(known) != tx.refunded:
                    out.append(Mismatch("refunded_total", tx.reference, None,
                                        f"{written(int(known), cur)} refunded", saleor_says))
    return out


@dataclass(frozen=True)
class _Ours:
    attempt_id: str | None
    amount: int
    status: str
    currency: str = ""

    def shown(self) -> str:
        return f"{written(self.amount, self.currency)} {self.status.lstrip('=')}"


def _attempts(conn: Connection, provider: str, when: Any) -> dict[str, _Ours]:
    """Our refund attempts through ``provider`` that ``when`` picks, by provider reference."""
    ra = refund_attempts.c
    ours: dict[str, _Ours] = {}
    for row in conn.execute(
        select(ra.id, ra.provider_reference, ra.amount, ra.sent_amount, ra.status,
               ra.currency).where(
            ra.provider == provider,
            ra.kind == "refund",
            ra.provider_reference.is_not(None),
            when,
        ).order_by(ra.created_at, ra.seq)  # a retry sharing a Saleor grant speaks last
    ):
        amount = row.sent_amount if row.sent_amount is not None else row.amount
        ours[row.provider_reference] = _Ours(row.id, int(amount), row.status, row.currency)
    return ours


def _ledger_side(
    engine: Engine, provider: str, since: datetime, order_ids: list[str] | None = None
) -> dict[str, _Ours]:
    """Our refunds made since ``since``, and all of those of ``order_ids`` (the orders the
    provider was asked about, whose older refunds it answers for too)."""
    ours: dict[str, _Ours] = {}
    ra = refund_attempts.c
    when = ra.created_at >= since
    if order_ids:
        when = or_(when, ra.order_id.in_(order_ids))
    with engine.connect() as conn:
        ours.update(_attempts(conn, provider, when))
        pr = provider_refunds.c
        for ext in conn.execute(
            select(pr.refund_id, pr.attempt_id, pr.amount, pr.status, pr.currency).where(
                pr.provider == provider, pr.updated_at >= since
            )
        ):
            if ext.refund_id not in ours:  # a refund made outside us, learned from an event
                ours[ext.refund_id] = _Ours(ext.attempt_id, int(ext.amount), f"={ext.status}",
                                            ext.currency)
    return ours


def reconcile(
    engine: Engine, refunds: Iterator[ProviderRefund], since: datetime, provider: str = "stripe",
    agrees: Mapping[str, tuple[str, ...]] = AGREES, order_ids: list[str] | None = None,
    compared: dict[str, int] | None = None,
) -> list[Mismatch]:
    """Every difference between the provider's ``refunds`` and the ledger's since ``since``;
    ``compared``, when given, is told how many of each were read (``provider_refunds``,
    ``ledger_refunds``), so "they agree" can say about what."""
    ours = _ledger_side(engine, provider, since, order_ids)
    listed = list(refunds)
    # a refund made in the period for an attempt decided before it (late on the period's eve,
    # or held for its parcel): the ledger holds it, under that attempt
    earlier = sorted({r.id for r in listed} - set(ours))
    if earlier:
        with engine.connect() as conn:
            for chunk in (earlier[i:i + 500] for i in range(0, len(earlier), 500)):
                ours.update(_attempts(conn, provider,
                                      refund_attempts.c.provider_reference.in_(chunk)))
    seen: set[str] = set()
    out: list[Mismatch] = []
    read = 0
    for theirs in listed:
        read += 1
        seen.add(theirs.id)
        mine = ours.get(theirs.id)
        shown = f"{written(theirs.amount, theirs.currency)} {theirs.status}"
        if mine is None:
            out.append(Mismatch("missing_in_ledger", theirs.id, None, "-", shown))
            continue
        ledger = mine.shown()
        if mine.amount != theirs.amount:
            out.append(Mismatch("amount", theirs.id, mine.attempt_id, ledger, shown))
        if mine.status.startswith("="):
            # a partial capture's released rest: Stripe lists it as a succeeded Refund
            same = mine.status[1:] == theirs.status or (
                mine.status[1:] == RELEASED and theirs.status == "succeeded")
        else:
            same = theirs.status in agrees.get(mine.status, ())
        if not same:
            out.append(Mismatch("status", theirs.id, mine.attempt_id, ledger, shown))
    for ref, mine in sorted(ours.items()):
        if ref not in seen:
            ledger = mine.shown()
            out.append(Mismatch("missing_at_provider", ref, mine.attempt_id, ledger, "-"))
    if compared is not None:
        compared.update(provider_refunds=read, ledger_refunds=len(ours))
    return out


def reconcile_saleor(saleor: SaleorEvents, engine: Engine, since: datetime,
                     compared: dict[str, int] | None = None) -> list[Mismatch]:
    """Every difference between the ledger and Saleor for the Saleor orders touched since
    ``since``: each grant and refund request of ours (and any refund of the orders' older
    attempts), and each transaction's refunded total (``compared``: as ``reconcile``'s, with
    the ``orders`` asked about)."""
    fetched = saleor_orders(saleor, engine, since)
    refunds = saleor_refunds(saleor, engine, since, fetched)
    ids = [so.record.order_id for so in fetched]
    if compared is not None:
        compared["orders"] = len(ids)
    return (reconcile(engine, refunds, since, "saleor", SALEOR_AGREES, ids, compared)
            + saleor_refunded_totals(engine, fetched))
