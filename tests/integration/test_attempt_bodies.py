"""The journal's ``attempt`` entries are hashed into the chain: the rows and bodies written for a
fresh attempt and for a retry are byte for byte the same shape. The expected texts below were
taken from the code before the attempt insert became one function, with the order and customer
the entries name since ``ledger verify`` holds the rows to them (older entries lack the three)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Engine, select

from refunds_plugin.domain.decision import Decision, Resolution
from refunds_plugin.domain.facts import Customer, OrderFacts, OrderLine, PaymentFacts
from refunds_plugin.domain.kinds import DecisionKind, Outcome, ResolutionKind
from refunds_plugin.ledger import chain, seal
from refunds_plugin.ledger.attempts import AttemptRow, get_attempt, retry_attempt
from refunds_plugin.ledger.db import make_engine, write_tx
from refunds_plugin.ledger.decisions import record_decision
from refunds_plugin.ledger.tables import ledger_entries, refund_attempts

FRESH = (
    '{"amount":1500,"bonus":0,"currency":"USD","customer_email":"ann@example.com",'
    '"customer_id":"c-1","decision_id":"%(d)s",'
    '"idempotency_key":"refunds-plugin-attempt-%(a)s","kind":"refund","order_id":"1001",'
    '"payment_reference":"pi_1","provider":"stripe","status":"pending"}'
)
CREDIT = (
    '{"amount":1000,"bonus":100,"currency":"USD","customer_email":"ann@example.com",'
    '"customer_id":"c-1","decision_id":"%(d)s",'
    '"idempotency_key":"refunds-plugin-attempt-%(a)s","kind":"credit","order_id":"1001",'
    '"payment_reference":null,"provider":"dryrun","status":"pending"}'
)
RETRY = (
    '{"amount":1500,"bonus":0,"currency":"USD","customer_email":"ann@example.com",'
    '"customer_id":"c-1","decision_id":"%(d)s",'
    '"idempotency_key":"refunds-plugin-attempt-%(a)s","kind":"refund",'
    '"note":"review approved: replaces %(old)s","order_id":"1001","payment_reference":"pi_1",'
    '"provider":"stripe","retry_of":"%(old)s","status":"pending"}'
)
ROW_COLUMNS = (
    "decision_id", "order_id", "seq", "provider", "kind", "currency", "amount", "bonus",
    "payment_reference", "customer_id", "customer_email", "reason", "status", "tries",
    "provider_reference", "sent_amount", "credit_code", "last_error", "claimed_by",
    "lease_until", "completed_at", "progress",
)


def _facts() -> OrderFacts:
    line = OrderLine("l1", "MUG-1", "Mug", 2, 2500)
    pay = PaymentFacts("stripe", "pi_1", captured=5000, refunded=0)
    customer = Customer("c-1", "ann@example.com")
    return OrderFacts("1001", "USD", (line,), 0, 5000, customer=customer, payments=(pay,))


def _decision() -> Decision:
    return Decision(
        outcome=Outcome.APPROVE, reason_code="approved", explanation="Approved.",
        currency="USD", policy_name="p", policy_hash="h", kind=DecisionKind.RETURN,
        resolutions=(
            Resolution(ResolutionKind.REFUND, 1500, payment_reference="pi_1"),
            Resolution(ResolutionKind.REFUND, 0, payment_reference="pi_1"),  # nothing: skipped
            Resolution(ResolutionKind.CREDIT, 1000, bonus=100),
        ),
    )


def _attempt_entries(engine: Engine) -> list[tuple[str, str]]:
    with engine.connect() as conn:
        rows = conn.execute(
            select(ledger_entries.c.subject_id, ledger_entries.c.body)
            .where(ledger_entries.c.entry_type == "attempt")
            .order_by(ledger_entries.c.seq)
        )
        return [(r.subject_id, r.body) for r in rows]


def _row(engine: Engine, attempt_id: str) -> tuple[object, ...]:
    with engine.connect() as conn:
        row = conn.execute(
            select(*(refund_attempts.c[c] for c in ROW_COLUMNS))
            .where(refund_attempts.c.id == attempt_id)
        ).one()
    return tuple(row)


def test_a_fresh_attempt_and_its_retry_write_the_same_shape_of_body(
    any_db_url: str, now: datetime
) -> None:
    engine = make_engine(any_db_url)
    try:
        with write_tx(engine) as conn:
            recorded = record_decision(
                conn, decision=_decision(), facts=_facts(), request={"order_id": "1001"},
                request_key="r-1", route={"pi_1": "stripe"}, now=now,
            )
        refund_id, credit_id = recorded.attempt_ids
        assert [row["seq"] for row in recorded.written] == [0, 2]
        with write_tx(engine) as conn:
            failed = get_attempt(conn, refund_id)
            assert isinstance(failed, AttemptRow)
            new_id = retry_attempt(conn, failed, now, f"review approved: replaces {refund_id}")

        d = recorded.id
        assert _attempt_entries(engine) == [
            (refund_id, FRESH % {"d": d, "a": refund_id}),
            (credit_id, CREDIT % {"d": d, "a": credit_id}),
            (new_id, RETRY % {"d": d, "a": new_id, "old": refund_id}),
        ]
        naive = now.replace(tzinfo=None)
        fresh_row = (
            d, "1001", 0, "stripe", "refund", "USD", 1500, 0, "pi_1", "c-1", "ann@example.com",
            "requested_by_customer", "pending", 0, None, None, None, None, None, None, None, None,
        )
        assert _row(engine, refund_id)[:-1] == fresh_row[:-1]
        assert _row(engine, new_id) == (d, *fresh_row[1:2], 3, *fresh_row[3:])
        assert _row(engine, credit_id)[3:9] == ("dryrun", "credit", "USD", 1000, 100, None)
        with engine.connect() as conn:
            times = conn.execute(
                select(refund_attempts.c.next_try_at, refund_attempts.c.created_at,
                       refund_attempts.c.updated_at)
            ).all()
        assert {t.replace(tzinfo=None) for row in times for t in row} == {naive}
        assert seal.settle(engine)  # PostgreSQL seals in the background, moments after commit
        with engine.connect() as conn:
            rows = conn.execute(
                select(ledger_entries.c.seq, ledger_entries.c.entry_type,
                       ledger_entries.c.subject_id, ledger_entries.c.body,
                       ledger_entries.c.prev_hash, ledger_entries.c.hash)
                .order_by(ledger_entries.c.seq)
            ).all()
        assert chain.verify([tuple(r) for r in rows]) is None
    finally:
        engine.dispose()
