"""What the messages read of the ledger besides the decision: the order's number and its items'
names, whether a decision's money goes to the dry run (the shop's test mode), and what a
decline of an approved exchange taken up again ends (or, going ahead, leaves unpaid)."""

from __future__ import annotations

import json
import logging

from sqlalchemy import Connection, func, select

from refunds_plugin.ledger.exchange_dues import DIFFERENCE, SALE, seq_is
from refunds_plugin.ledger.facts import OrderSeen
from refunds_plugin.ledger.paid_out import PAID_OUT
from refunds_plugin.ledger.retries import replaced_attempts
from refunds_plugin.ledger.tables import decisions, exchanges, orders, refund_attempts

log = logging.getLogger("refunds.notify")


def order_names(conn: Connection, order_id: str,
                seen: OrderSeen | None = None) -> tuple[str, dict[str, str]]:
    """The number the customer knows the order by, and its lines' names (``seen``: the order
    row as this transaction read it already)."""
    row = seen if seen is not None else conn.execute(
        select(orders.c.order_number, orders.c.lines).where(orders.c.order_id == order_id)
    ).first()
    if row is None:
        return order_id, {}
    return row.order_number or order_id, line_names(order_id, row.lines)


def order_number(conn: Connection, order_id: str) -> str:
    """The number the customer knows the order by (its lines are not read)."""
    return conn.execute(select(orders.c.order_number)
                        .where(orders.c.order_id == order_id)).scalar() or order_id


def line_names(order_id: str, stored: str | None) -> dict[str, str]:
    """The order's item names by line id, from ``orders.lines`` as stored. Lines that cannot
    be read (the row edited by hand, a partial restore) name no item, so the messages name it
    by its line id; a warning names the order, and nothing else fails."""
    try:
        lines = json.loads(stored or "[]")
        return {ln["id"]: ln.get("name") or ln["id"] for ln in lines}
    except (ValueError, TypeError, KeyError, AttributeError) as exc:
        # the exception's words only: never the stored JSON, which holds customer data
        log.warning("order %s's stored lines (orders.lines) cannot be read (%s: %s): its "
                    "messages and pages name the items by their line ids until a person "
                    "repairs the row",
                    order_id, type(exc).__name__, exc, extra={"order_id": order_id})
        return {}


def dry_run_of(conn: Connection, decision_id: str) -> bool:
    """Whether the decision's money went to the dry run: one of its attempts is the dry run's
    (no money moves, and no message says it did); or it was decided in test mode, which its
    stored facts keep (``can_charge`` false: ``service.decided_on``, a dry run or a Stripe
    test key, whose Stripe moves no real money either)."""
    if conn.execute(select(refund_attempts.c.id).where(
            refund_attempts.c.decision_id == decision_id,
            refund_attempts.c.provider == "dryrun").limit(1)).first() is not None:
        return True
    return decided_in_test_mode(conn, decision_id)


def decided_in_test_mode(conn: Connection, decision_id: str) -> bool:
    """Whether the decision was made in test mode (its stored facts' ``can_charge`` false)."""
    facts = conn.execute(select(decisions.c.facts).where(decisions.c.id == decision_id)).scalar()
    if not facts:
        return False
    try:
        return json.loads(facts).get("can_charge") is False
    except (ValueError, AttributeError):  # a row edited by hand: read as not in test mode
        return False


def ended_exchange(conn: Connection, decision_id: str) -> dict[str, int | bool]:
    """What a person's decline says of an exchange approved before, which failed and went back
    to them (its new item out of stock, or not to be made): not that the return "could not be
    accepted" (it was, and money may have moved), but that the exchange ends, with what was
    already given back for a cheaper item (its decision's succeeded attempts, never the dry
    run's), which stays the customer's, and what they paid for a dearer item's difference,
    refunded (``exchange_refunding``) or left to a person (``exchange_paid``). One whose new
    item is on its way (``GOES_AHEAD``): it goes ahead, with what of the difference is not
    paid back (``_goes_ahead``). Empty for any other decision."""
    row = conn.execute(select(exchanges.c.status, exchanges.c.charge_amount,
                              exchanges.c.paid_at)
                       .where(exchanges.c.decision_id == decision_id)).first()
    if row is not None and row.status in GOES_AHEAD:
        return _goes_ahead(conn, decision_id)
    if row is None or row.status != "failed":
        return {}
    # a dearer item's difference the customer paid: refunded by the decline's attempt
    # (``exchanges/difference``), or, with no payment to refund recorded, by a person
    paid = int(row.charge_amount) if row.paid_at is not None else 0
    refunding = paid and conn.execute(select(refund_attempts.c.id).where(
        refund_attempts.c.decision_id == decision_id,
        seq_is(refund_attempts.c.seq, DIFFERENCE))).first() is not None
    return {"exchange_ended": True, "exchange_kept": _kept(conn, decision_id),
            "exchange_refunding" if refunding else "exchange_paid": paid}


# an exchange whose new item is on its way (or sent): a decline of its review (a failed or held
# payout of a cheaper item's difference) does not stop it
GOES_AHEAD = ("waiting", "ready", "shipped")


def _kept(conn: Connection, decision_id: str) -> int:
    """What went back to the customer for the decision (never the dry run's): what each
    succeeded attempt of its resolutions gave (``PAID_OUT``: a refund Saleor clamped gave less
    than asked); a payment made for the exchange and given back is none of it."""
    return int(conn.execute(select(func.coalesce(func.sum(PAID_OUT), 0)).where(
        refund_attempts.c.decision_id == decision_id, seq_is(refund_attempts.c.seq, SALE),
        refund_attempts.c.status == "succeeded",
        refund_attempts.c.provider != "dryrun")).scalar_one())


def _goes_ahead(conn: Connection, decision_id: str) -> dict[str, int | bool]:
    """A declined review of an exchange that goes ahead: it does, with what went back for a
    cheaper item's difference, and what did not and is not paid again (its failed attempts,
    and held ones the decline canceled, none replaced since: ``ledger.attempt_reads``)."""
    rows = conn.execute(select(refund_attempts.c.id, refund_attempts.c.status,
                               refund_attempts.c.amount)
                        .where(refund_attempts.c.decision_id == decision_id,
                               seq_is(refund_attempts.c.seq, SALE))).all()
    done = replaced_attempts(conn, [a.id for a in rows])
    unpaid = sum(int(a.amount) for a in rows
                 if a.status in ("failed", "canceled") and a.id not in done)
    return {"exchange_goes_ahead": True, "exchange_kept": _kept(conn, decision_id),
            "exchange_unpaid": unpaid}
