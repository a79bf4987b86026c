"""The dry-run provider: what it answers, and the instruction it says it would have sent."""

from __future__ import annotations

from dataclasses import asdict

from refunds_plugin.providers import Instruction
from refunds_plugin.providers.dryrun import DryRunProvider


def _instruction(kind: str) -> Instruction:
    return Instruction(
        attempt_id="a1b2c3d4-0000-5000-8000-000000000001", decision_id="d-1", order_id="o-1",
        idempotency_key="refunds-plugin-attempt-a1b2c3d4-0000-5000-8000-000000000001",
        kind=kind, amount=1999, currency="EUR", bonus=150 if kind == "credit" else 0,
        payment_reference="pi_1", customer_id="c-1", customer_email="ann@example.com",
        policy_hash="ph", progress={"coupon": "co_1"},
        extra={"saleor": {"lines": [{"id": "L1", "qty": 2}]},
               "decision": {"kind": "return", "lines": [{"line_id": "L1", "amount": 1999}]},
               "records_return": True},
    )


def test_a_dry_run_refund_answers_succeeded_and_records_the_instruction_field_by_field() -> None:
    instruction = _instruction("refund")
    result = DryRunProvider().execute(instruction, lambda _progress: None)
    assert (result.status, result.reference, result.sent_amount, result.credit_code) == (
        "succeeded", "dryrun_a1b2c3d4-0000-5000-8000-000000000001", 1999, None)
    assert result.detail == {"dry_run": True, "would_send": asdict(instruction)}
    assert list(result.detail["would_send"]) == [
        "attempt_id", "decision_id", "order_id", "idempotency_key", "kind", "amount",
        "currency", "bonus", "payment_reference", "customer_id", "customer_email", "reason",
        "policy_hash", "progress", "extra"]


def test_a_dry_run_credit_adds_the_bonus_and_names_a_code() -> None:
    provider = DryRunProvider()
    result = provider.execute(_instruction("credit"), lambda _progress: None)
    assert (result.sent_amount, result.credit_code) == (2149, "DRYRUN-A1B2C3D4")
    assert result.detail["would_send"]["extra"]["decision"]["lines"] == [
        {"line_id": "L1", "amount": 1999}]
    assert [i.kind for i in provider.sent] == ["credit"]
