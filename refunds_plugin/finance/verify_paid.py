"""``verify``'s check of what was paid: each payment's captured amount (with its currency,
order and mode) and each order's total and currency against their newest journal entries.

The entries (``ledger/money_entries.py``) are written when a payment or an order is first
recorded and whenever those figures change. Rows recorded before that change have none: they
are not problems (an old ledger still verifies) but are counted, so ``verify`` can say how many
rows it checked and how many it could not. A journalled row that is gone is ``row_missing``; one
whose figures differ from its newest entry is ``row_edited``. The refunded total the provider
last reported is held up to its ``payment_refunded`` entries here too, and which of our
refunds it counts (``refund_attempts.counted_by_provider``) up to the ``stripe_counts`` entries.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, select

from refunds_plugin.ledger.money_entries import ORDER, ORDER_FIELDS, PAYMENT, PAYMENT_FIELDS
from refunds_plugin.ledger.provider_refunds import COUNTED
from refunds_plugin.ledger.tables import ledger_entries, orders, payments, refund_attempts

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


def remember(known: dict[str, Said], seq: int, entry_type: str, subject: str,
             data: dict[str, Any]) -> None:
    """Keep the newest entry of each payment (``provider:reference``) and order (its id)."""
    if entry_type == PAYMENT:
        known[PAYMENT][subject] = (seq, data)
    elif entry_type == ORDER:
        known[ORDER][str(data.get("order_id", subject.partition(":")[2]))] = (seq, data)


def check(conn: Connection, known: dict[str, Said], counted: Counted, batch: int
          ) -> Iterator[Found]:
    yield from _refunded_totals(conn)
    yield from _counted_marks(conn)
    yield from _held(conn, _PAYMENTS, known[PAYMENT], counted, batch)
    yield from _held(conn, _ORDERS, known[ORDER], counted, batch)


def _rows(conn: Connection, query: Any, batch: int) -> Any:
    return conn.execution_options(stream_results=True, yield_per=batch).execute(query)


def _differences(have: dict[str, Any], want: dict[str, Any], names: tuple[str, ...]) -> str:
    return "; ".join(f"{n} is {have[n]!r} but the journal says {want.get(n)!r}"
                     for n in names if have[n] != want.get(n))


@dataclass(frozen=True)
class _Rows:
    """One table's rows, and how each is keyed, compared with its entry and named."""

    name: str  # also the ``Counted`` field
    query: Any
    key: Callable[[Any], str]
    have: Callable[[Any], dict[str, Any]]  # the journalled figures, as the row stores them
    where: Callable[[str, Any, dict[str, Any]], str]  # key, row (None: gone), entry body
    figure: Callable[[dict[str, Any]], str]  # what the entry records, for a row that is gone


def _held(conn: Connection, t: _Rows, known: Said, counted: Counted, batch: int
          ) -> Iterator[Found]:
    seen: set[str] = set()
    for row in _rows(conn, t.query, batch):
        key = t.key(row)
        seen.add(key)
        if key not in known:
            continue  # recorded before its figures were journalled
        seq, body = known[key]
        have = t.have(row)
        if diffs := _differences(have, body, tuple(have)):
            yield t.where(key, row, body), "row_edited", (
                f"differs from its latest entry {seq}: {diffs}")
    setattr(counted, t.name, len(seen))
    setattr(counted, f"{t.name}_before", len(seen - known.keys()))
    for key, (seq, body) in sorted(known.items(), key=lambda kv: kv[1][0]):
        if key not in seen:
            yield t.where(key, None, body), "row_missing", (
                f"entry {seq} records {t.figure(body)}; it is gone")


def _order_of(row: Any, body: dict[str, Any]) -> Any:
    """The payment's order as its row says (its entry's when the row names none or is gone)."""
    return (row.order_id if row is not None else None) or body.get("order_id")


_PAYMENTS = _Rows(
    name="payments",
    query=select(*(payments.c[n] for n in PAYMENT_FIELDS)).order_by(payments.c.created_at,
                                                                    payments.c.id),
    key=lambda r: f"{r.provider}:{r.reference}",
    # livemode: an entry without one (before revision 0029, or no mode said) says None
    have=lambda r: {"order_id": r.order_id, "currency": r.currency, "captured": int(r.captured),
                    "livemode": r.livemode},
    where=lambda key, r, body: f"payments row {key} (order {_order_of(r, body)})",
    figure=lambda body: f"its capture of {body.get('captured')} {body.get('currency')}",
)
_ORDERS = _Rows(
    name="orders",
    query=select(*(orders.c[n] for n in ORDER_FIELDS)).order_by(orders.c.order_id),
    key=lambda r: str(r.order_id),
    have=lambda r: {"currency": r.currency, "total_amount": int(r.total_amount)},
    where=lambda key, _r, _body: f"orders row {key}",
    figure=lambda body: f"its total of {body.get('total_amount')} {body.get('currency')}",
)


def _refunded_totals(conn: Connection) -> Iterator[Found]:
    """Each payment whose ``refunded_reported`` differs from the total the journal last settled
    on: the ``payment_refunded`` entries (subject ``provider:reference``; today Stripe's, from
    ``stripe.refunded_total``), read here as journal facts so this check names no provider."""
    known: dict[tuple[str, str], int] = {}
    le = ledger_entries.c
    for subject, body in conn.execute(
        select(le.subject_id, le.body).where(le.entry_type == "payment_refunded").order_by(le.seq)
    ):
        provider, _, reference = subject.partition(":")
        said = json.loads(body)  # a JSON object: ``verify`` checks bodies before this runs
        known[(provider, reference)] = int(said.get("refunded_reported") or 0)
    if not known:
        return
    pc = payments.c
    stored = {(p, r): v for p, r, v in conn.execute(
        select(pc.provider, pc.reference, pc.refunded_reported).where(
            pc.reference.in_(sorted({r for _, r in known}))
        )
    )}
    for key, total in sorted(known.items()):
        where = f"payments row {key[0]}:{key[1]}"
        if key not in stored:
            detail = f"the journal settled its refunded total at {total}; the row is gone"
            yield where, "row_edited", detail
        elif int(stored[key]) != total:
            yield where, "row_edited", (f"refunded_reported is {stored[key]} but the "
                                        f"journal last settled it at {total}")


def _counted_marks(conn: Connection) -> Iterator[Found]:
    """Each attempt marked as counted in the provider's reported total with no entry saying so
    (a mark makes a pending refund count once, not twice), and each entry's attempt unmarked."""
    le, ra = ledger_entries.c, refund_attempts.c
    said: dict[str, int] = {}
    for seq, body in conn.execute(select(le.seq, le.body).where(le.entry_type == COUNTED)):
        for attempt_id in json.loads(body).get("attempts") or ():
            said.setdefault(str(attempt_id), int(seq))
    marked = set(conn.execute(select(ra.id).where(ra.counted_by_provider.is_(True))).scalars())
    for attempt_id in sorted(marked - said.keys()):
        yield (f"refund_attempts row {attempt_id}", "row_edited",
               "counted_by_provider is True but no stripe_counts entry says so")
    for attempt_id in sorted(said.keys() - marked):
        yield (f"refund_attempts row {attempt_id}", "row_edited",
               f"counted_by_provider is not True but entry {said[attempt_id]} says it is")
