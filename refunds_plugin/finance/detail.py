"""One decision in full, as finance's decision page reads it: its row, facts, trace, explanation,
money movements, review and journal. A stored JSON column that cannot be read (edited by hand,
cut short by a partial restore) is left out and named in ``unreadable``, never failing the page:
the plain columns (amounts, attempts, review) are still shown, and one line names the row."""

from __future__ import annotations

import json
import logging
from typing import Any

from sqlalchemy import Connection, Engine, select

from refunds_plugin.finance.moved import GIVEN_BACK, decided_without_money, moved
from refunds_plugin.finance.rows import (
    attempt_statuses,
    decision_row,
    shown_status,
)
from refunds_plugin.finance.told import exported, told_customer
from refunds_plugin.language import written_in
from refunds_plugin.ledger.exchange_dues import refund_of
from refunds_plugin.ledger.label_fees import is_label_fee
from refunds_plugin.ledger.tables import (
    decisions,
    exchange_dues,
    exchanges,
    ledger_entries,
    orders,
    refund_attempts,
    return_shipments,
    reviews,
    saleor_returns,
)
from refunds_plugin.notify import stored
from refunds_plugin.shipping.rows import Unreadable, read

log = logging.getLogger("refunds.finance")


class Reader:
    """Reads stored JSON objects, noting each that cannot be read as ``table.column (why)``."""

    def __init__(self) -> None:
        self.unreadable: list[str] = []

    def object(self, where: str, raw: str | None) -> dict[str, Any]:
        try:
            value = json.loads(raw) if raw else {}
            if not isinstance(value, dict):
                raise TypeError(type(value).__name__)
        except stored.UNREADABLE as exc:
            self.unreadable.append(f"{where} ({stored.why(exc)})")
            return {}
        return value


def unreadable_line(decision_id: str, parts: list[str]) -> str:
    """The one line a person reads about a decision whose stored record cannot all be read."""
    return (f"The stored record of decision {decision_id} cannot be read: "
            f"{'; '.join(parts)}. A person must look at the row; nothing was changed.")


def _others(conn: Connection, decision_id: str, reader: Reader) -> None:
    """Note the decision's return and exchange rows, when they cannot be read."""
    shipped = conn.execute(select(return_shipments)
                           .where(return_shipments.c.decision_id == decision_id)).first()
    ret = read(shipped) if shipped is not None else None
    if isinstance(ret, Unreadable):
        reader.unreadable.append(f"return_shipments ({ret.why})")
    progress = conn.execute(select(exchanges.c.progress)
                            .where(exchanges.c.decision_id == decision_id)).scalar()
    if progress is not None:
        reader.object("exchanges.progress", progress)


def decision_detail(engine: Engine, decision_id: str,
                    default_locale: str = "en") -> dict[str, Any] | None:
    """One decision with its facts, trace, explanation (``told``: in the customer's language
    and in English), money movements (``moved``: in one line, as the providers answered),
    review and journal,
    and an instant exchange's original value due (``original_due``: the ``exchange_dues``
    row, None when nothing became due), the return Saleor is told of without a refund
    (``saleor_return``: the ``saleor_returns`` row, None without one); ``unreadable``: the
    line saying which stored columns cannot be read (None when all can)."""
    reader = Reader()
    with engine.connect() as conn:
        row = conn.execute(select(decisions).where(decisions.c.id == decision_id)).first()
        if row is None:
            return None
        locale = written_in(row.chosen_locale, conn.execute(  # as its mails were written
            select(orders.c.locale).where(orders.c.order_id == row.order_id)).scalar())
        attempts = [dict(r._mapping) for r in conn.execute(
            select(refund_attempts).where(refund_attempts.c.decision_id == decision_id)
            .order_by(refund_attempts.c.seq)
        )]
        review = conn.execute(select(reviews).where(reviews.c.decision_id == decision_id)).first()
        # an instant exchange's original that never came back: what is due, charged, refunded
        due = conn.execute(select(exchange_dues)
                           .where(exchange_dues.c.decision_id == decision_id)).first()
        # a return no refund attempt tells Saleor of (a free order's): how telling it stands
        told_saleor = conn.execute(
            select(saleor_returns.c.status, saleor_returns.c.tries, saleor_returns.c.last_error,
                   saleor_returns.c.fulfillment_id)
            .where(saleor_returns.c.decision_id == decision_id)).first()
        statuses = attempt_statuses(conn, [decision_id]).get(decision_id, [])
        subjects = [decision_id, *(a["id"] for a in attempts)]
        journal = [dict(r._mapping) for r in conn.execute(
            select(ledger_entries.c.seq, ledger_entries.c.entry_type, ledger_entries.c.subject_id,
                   ledger_entries.c.created_at, ledger_entries.c.hash, ledger_entries.c.body)
            .where(ledger_entries.c.subject_id.in_(subjects))
            .order_by(ledger_entries.c.seq)
        )]
        body = reader.object("decisions.body", row.body)
        facts = reader.object("decisions.facts", row.facts)
        request = reader.object("decisions.request", row.request)
        _others(conn, decision_id, reader)
    decided = [reader.object(f"ledger_entries #{e['seq']}", e["body"])
               for e in journal if e["entry_type"] == "review_decided"]
    last = decided[-1] if decided else {}
    # the customer's answer and emails left out the promise of when the money arrives and
    # said "test mode": its money went to the dry run, or the facts it was decided on could
    # move none (``service.decided_on``: a dry run or a Stripe test key). What moved is the
    # attempts' own word: a person may have approved it after the shop went live
    without_money = decided_without_money(facts, attempts)
    said = told_customer(row.explanation, row.said, locale, default_locale,
                         test_mode=without_money is not None)
    money_moved = moved(attempts)
    for a in attempts:
        a["status"] = shown_status(a["status"], a["provider"], a["livemode"])
        a["label_fee"] = is_label_fee(a["seq"])  # a return label fee given back
        a["given_back"] = GIVEN_BACK.get(refund_of(int(a["seq"])))  # no refund of the sale
    line = unreadable_line(decision_id, reader.unreadable) if reader.unreadable else None
    if line:
        log.error("decision %s, order %s: %s", decision_id, row.order_id, line,
                  extra={"decision_id": decision_id, "order_id": row.order_id})
    return {
        # its explanation as the lists and exports carry it (in test mode: told, no promise)
        "decision": decision_row(row, statuses, review,
                                 exported(row, [a["provider"] for a in attempts])),
        "body": body,
        "trace": body.get("trace", []),
        "facts": facts,
        "request": request,
        "attempts": attempts,
        "review": dict(review._mapping) if review else None,
        "explained": said.english,  # as an English reader reads it (its money grouped)
        "told": said,  # as the customer read it, in their language
        "test_mode": without_money is not None,
        "without_money": without_money,  # why no money could move when it was decided
        "moved": money_moved,  # what the attempts moved, whatever the customer was told
        "review_change": last.get("adjusted"),  # what the admin changed when approving
        "customer_note": last.get("customer_note"),
        "journal": journal,
        "original_due": dict(due._mapping) if due else None,
        "saleor_return": dict(told_saleor._mapping) if told_saleor else None,
        "unreadable": line,
    }
