"""What the executor hands a provider, read in one statement for a claimed batch: the attempt,
its decision's policy hash and body, the order's provider facts, and whether the attempt is
its decision's first on its provider (the Saleor provider records the return with that one)."""

from __future__ import annotations

import json
from datetime import datetime

from sqlalchemy import Connection, event, insert, select

from refunds_plugin.domain.decision import Decision, Resolution
from refunds_plugin.domain.facts import Customer, OrderFacts, OrderLine, PaymentFacts
from refunds_plugin.domain.kinds import DecisionKind, Outcome, ResolutionKind
from refunds_plugin.execution.instructions import instruction_for, instructions_for
from refunds_plugin.ledger.attempts import get_attempt, retry_attempt
from refunds_plugin.ledger.db import make_engine, write_tx
from refunds_plugin.ledger.decisions import record_decision
from refunds_plugin.ledger.facts import FALLBACK_KEY
from refunds_plugin.ledger.tables import decisions, exchanges, orders, refund_attempts

SALEOR = {"saleor": {"order": "T3JkZXI6MQ==", "lines": {"l1": "T3JkZXJMaW5lOjE="}}}


def test_a_batch_reads_each_attempts_decision_order_facts_and_first_flag_in_one_statement(
    any_db_url: str, now: datetime
) -> None:
    engine = make_engine(any_db_url)
    try:
        decision = Decision(
            outcome=Outcome.APPROVE, reason_code="approved", explanation="Yes.", currency="EUR",
            policy_name="p", policy_hash="ph-7", kind=DecisionKind.RETURN,
            resolutions=(Resolution(ResolutionKind.REFUND, 1200, payment_reference="pi_9"),
                         Resolution(ResolutionKind.CREDIT, 800, bonus=80)),
        )
        facts = OrderFacts("2002", "EUR", (OrderLine("l1", "CUP-1", "Cup", 1, 2000),), 0, 2000,
                           customer=Customer("c-9", "bo@example.com"),
                           payments=(PaymentFacts("stripe", "pi_9", captured=2000, refunded=0),))
        with write_tx(engine) as conn:
            recorded = record_decision(conn, decision=decision, facts=facts,
                                       request={"order_id": "2002"}, request_key="r-9",
                                       route={"pi_9": "stripe"}, now=now)
            conn.execute(insert(orders).values(
                order_id="2002", source="saleor", currency="EUR", total_amount=2000,
                shipping_amount=0, lines="[]", extra=json.dumps(SALEOR), updated_at=now))
        refund_id, credit_id = recorded.attempt_ids
        with write_tx(engine) as conn:
            refund, credit = get_attempt(conn, refund_id), get_attempt(conn, credit_id)
            assert refund is not None and credit is not None
            retry = get_attempt(conn, retry_attempt(conn, refund, now, "again"))
            assert retry is not None
        with engine.connect() as conn:
            body = json.loads(conn.execute(select(decisions.c.body)
                                           .where(decisions.c.id == recorded.id)).scalar_one())
            sent: list[str] = []
            event.listen(conn, "before_cursor_execute", lambda *a: sent.append(a[2]))
            found = instructions_for(conn, [retry, credit, refund])
            assert instructions_for(conn, []) == {}
        assert len(sent) == 1
        assert [(i.attempt_id, i.kind, i.extra["records_return"]) for i in found.values()] == [
            (retry.id, "refund", False), (credit.id, "credit", True), (refund.id, "refund", True)]
        for instruction in found.values():
            assert instruction.policy_hash == "ph-7"
            assert instruction.extra == {**SALEOR, "decision": body,
                                         "records_return": instruction.attempt_id != retry.id,
                                         "returned_by_exchange": None}
            assert (instruction.order_id, instruction.currency) == ("2002", "EUR")
        assert (found[credit.id].amount, found[credit.id].bonus) == (800, 80)
        assert found[retry.id].idempotency_key == f"refunds-plugin-attempt-{retry.id}"
        assert instruction_for(engine, retry) == found[retry.id]
    finally:
        engine.dispose()


def test_a_fallback_carries_the_replacement_its_exchange_made_in_the_same_statement(
    any_db_url: str, now: datetime
) -> None:
    """An exchange's fallback decision (key ``exchange-fallback:<exchange>``): its instruction
    names the Saleor replacement order the exchange made (its return brought the lines back);
    none where the exchange made none (an unpaid one), nor for any other decision."""
    engine = make_engine(any_db_url)
    decision = Decision(
        outcome=Outcome.APPROVE, reason_code="approved", explanation="Yes.", currency="EUR",
        policy_name="p", policy_hash="ph-7", kind=DecisionKind.RETURN,
        resolutions=(Resolution(ResolutionKind.REFUND, 1200, payment_reference="pi_9"),))
    facts = OrderFacts("2002", "EUR", (OrderLine("l1", "CUP-1", "Cup", 1, 2000),), 0, 2000,
                       customer=Customer("c-9", "bo@example.com"),
                       payments=(PaymentFacts("saleor", "pi_9", captured=2000, refunded=0),))

    def decide(conn: Connection, key: str) -> str:
        return record_decision(conn, decision=decision, facts=facts, request={"order_id": "2002"},
                               request_key=key, route={"pi_9": "saleor"}, now=now).id

    try:
        with write_tx(engine) as conn:
            replaced, unpaid, plain = (decide(conn, key) for key in ("r-1", "r-2", "r-3"))
            made = {ex: decide(conn, f"{FALLBACK_KEY}{ex}") for ex in (replaced, unpaid)}
            for ex, replacement in ((replaced, "T3JkZXI6Mg=="), (unpaid, None)):
                conn.execute(insert(exchanges).values(
                    decision_id=ex, order_id="2002", currency="EUR", status="fallen_back",
                    ship_on="delivered", difference=0, charge_amount=0, waived_amount=0,
                    back_amount=0, replacement_id=replacement, fallback_decision_id=made[ex],
                    created_at=now, updated_at=now))
        with engine.connect() as conn:
            batch = [a for a in (get_attempt(conn, i) for i in conn.execute(
                select(refund_attempts.c.id).order_by(refund_attempts.c.seq)).scalars()) if a]
            sent: list[str] = []
            event.listen(conn, "before_cursor_execute", lambda *a: sent.append(a[2]))
            found = instructions_for(conn, batch)
        assert len(sent) == 1
        assert {i.decision_id: (i.extra["records_return"], i.extra["returned_by_exchange"])
                for i in found.values()} == {
            replaced: (True, None), unpaid: (True, None), plain: (True, None),
            made[replaced]: (True, "T3JkZXI6Mg=="), made[unpaid]: (True, None)}
    finally:
        engine.dispose()
