"""``verify``'s check of what was paid: each payment's captured amount (with its currency and
order) and each order's total and currency against their newest journal entries.

The entries (``ledger/money_entries.py``) are written when a payment or an order is first
recorded and whenever those figures change. Rows recorded before that change have none: they
are not problems (an old ledger still verifies) but are counted, so ``verify`` can say how many
rows it checked and how many it could not. A journalled row that is gone is ``row_missing``; one
whose figures differ from its newest entry is ``row_edited``. The refunded total the provider
last reported is held up to its ``payment_refunded`` entries here too.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, select

from refunds_plugin.ledger.money_entries import ORDER, ORDER_FIELDS, PAYMENT, PAYMENT_FIELDS
from refunds_plugin.ledger.tables import ledger_entries, orders, payments

Said = dict[str, tuple[int, dict[str, Any]]]
Found = tuple[str, str, str]  # where, problem, detail (``verify.Problem``'s fields)
KINDS = (PAYMENT, ORDER)


@dataclass
class Counted:
    """How many rows were held up to an entry, and how many predate the journalling."""

    payments: int = 0
    payments_before: int = 0
    orders: int = 0
    orders_before: int = 0


def remember(said: dict[str, Said], seq: int, entry_type: str, subject: str,
             data: dict[str, Any]) -> None:
    """Keep the newest entry of each payment (``provider:reference``) and order (its id)."""
    if entry_type == PAYMENT:
        said[PAYMENT][subject] = (seq, data)
    elif entry_type == ORDER:
        said[ORDER][str(data.get("order_id", subject.partition(":")[2]))] = (seq, data)


def check(conn: Connection, said: dict[str, Said], counted: Counted, batch: int
          ) -> Iterator[Found]:
    yield from _refunded_totals(conn)
    yield from _payments(conn, said[PAYMENT], counted, batch)
    yield from _orders(conn, said[ORDER], counted, batch)


def _rows(conn: Connection, query: Any, batch: int) -> Any:
    return conn.execution_options(stream_results=True, yield_per=batch).execute(query)


def _differences(have: dict[str, Any], want: dict[str, Any], names: tuple[str, ...]) -> str:
    return "; ".join(f"{n} is {have[n]!r} but the journal says {want.get(n)!r}"
                     for n in names if have[n] != want.get(n))


def _payments(conn: Connection, said: Said, counted: Counted, batch: int) -> Iterator[Found]:
    pc = payments.c
    seen: set[str] = set()
    query = select(*(pc[n] for n in PAYMENT_FIELDS)).order_by(pc.created_at, pc.id)
    for row in _rows(conn, query, batch):
        key = f"{row.provider}:{row.reference}"
        seen.add(key)
        counted.payments += 1
        if key not in said:
            counted.payments_before += 1
            continue
        seq, body = said[key]
        have = {n: getattr(row, n) for n in PAYMENT_FIELDS}
        have["captured"] = int(have["captured"])
        diffs = _differences(have, body, PAYMENT_FIELDS[2:])
        if diffs:
            order = row.order_id or body.get("order_id")
            yield (f"payments row {key} (order {order})", "row_edited",
                   f"differs from its latest entry {seq}: {diffs}")
    for key, (seq, body) in sorted(said.items(), key=lambda kv: kv[1][0]):
        if key not in seen:
            yield (f"payments row {key} (order {body.get('order_id')})", "row_missing",
                   f"entry {seq} records its capture of {body.get('captured')} "
                   f"{body.get('currency')}; it is gone")


def _orders(conn: Connection, said: Said, counted: Counted, batch: int) -> Iterator[Found]:
    oc = orders.c
    seen: set[str] = set()
    for row in _rows(conn, select(*(oc[n] for n in ORDER_FIELDS)).order_by(oc.order_id), batch):
        seen.add(row.order_id)
        counted.orders += 1
        if row.order_id not in said:
            counted.orders_before += 1
            continue
        seq, body = said[row.order_id]
        have = {"currency": row.currency, "total_amount": int(row.total_amount)}
        diffs = _differences(have, body, ORDER_FIELDS[1:])
        if diffs:
            yield (f"orders row {row.order_id}", "row_edited",
                   f"differs from its latest entry {seq}: {diffs}")
    for order_id, (seq, body) in sorted(said.items(), key=lambda kv: kv[1][0]):
        if order_id not in seen:
            yield (f"orders row {order_id}", "row_missing",
                   f"entry {seq} records its total of {body.get('total_amount')} "
                   f"{body.get('currency')}; it is gone")


def _refunded_totals(conn: Connection) -> Iterator[Found]:
    """Each payment whose ``refunded_reported`` differs from the total the journal last settled
    on: the ``payment_refunded`` entries (subject ``provider:reference``; today Stripe's, from
    ``stripe.refunded_total``), read here as journal facts so this check names no provider."""
    said: dict[tuple[str, str], int] = {}
    le = ledger_entries.c
    for subject, body in conn.execute(
        select(le.subject_id, le.body).where(le.entry_type == "payment_refunded").order_by(le.seq)
    ):
        provider, _, reference = subject.partition(":")
        said[(provider, reference)] = int(json.loads(body)["refunded_reported"])
    if not said:
        return
    pc = payments.c
    stored = {(p, r): v for p, r, v in conn.execute(
        select(pc.provider, pc.reference, pc.refunded_reported).where(
            pc.reference.in_(sorted({r for _, r in said}))
        )
    )}
    for key, total in sorted(said.items()):
        where = f"payments row {key[0]}:{key[1]}"
        if key not in stored:
            detail = f"the journal settled its refunded total at {total}; the row is gone"
            yield where, "row_edited", detail
        elif int(stored[key]) != total:
            yield where, "row_edited", (f"refunded_reported is {stored[key]} but the "
                                        f"journal last settled it at {total}")
