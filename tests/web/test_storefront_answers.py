"""What the storefront is told: an event id reused for other content is a 409 with nothing
recorded, and ``dry_run`` says whether this order's money would move, the same for every
outcome (approve, review, decline) and on a redelivery."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from tests.fakes import Harness, order_paid, return_requested

POLICY = """currency: USD
window: {days: 365, start: payment}
reasons: {changed_mind: decline, too_small: review, too_large: accept}
"""


def _answers(h: Harness) -> list[tuple[str, bool]]:
    out = []
    for n, reason in enumerate(["too_large", "too_small", "changed_mind"]):
        h.post_storefront(order_paid(f"o-{n}", reference=f"pi_{n}"))
        event = return_requested(f"r-{n}", f"o-{n}",
                                 lines=[{"line_id": "l1", "quantity": 1, "reason": reason}])
        first = h.post_storefront(event).json
        again = h.post_storefront(event).json  # a redelivery says the same
        assert first is not None and again is not None
        assert (again["duplicate"], again["dry_run"]) == (True, first["dry_run"])
        out.append((first["outcome"], first["dry_run"]))
    return out


def test_a_dry_run_service_says_dry_run_on_every_outcome(
    any_db_url: str, clock: Callable[[], object], tmp_path: Path
) -> None:
    path = tmp_path / "policy.yaml"
    path.write_text(POLICY, encoding="utf-8")
    h = Harness(any_db_url, clock, settings={"policy": str(path)})  # no Stripe key: dry run
    try:
        assert _answers(h) == [("approve", True), ("review", True), ("decline", True)]
    finally:
        h.close()


def test_a_live_service_says_not_dry_run_on_every_outcome(
    policy_harness: Callable[[str], Harness],
) -> None:
    h = policy_harness(POLICY)  # a Stripe key (the fake's): money moves
    assert _answers(h) == [("approve", False), ("review", False), ("decline", False)]


@pytest.mark.parametrize("kind", ["return.requested", "order.paid"])
def test_an_event_id_reused_for_other_content_is_409_and_records_nothing(
    harness: Harness, kind: str
) -> None:
    harness.post_storefront(order_paid())
    harness.post_storefront(return_requested(event_id="evt_7"))
    before = harness.money_rows()
    other = (return_requested("r-2", event_id="evt_7") if kind == "return.requested"
             else order_paid("1002", event_id="evt_7"))

    resp = harness.post_storefront(other)

    assert (resp.status_code, resp.json) == (409, {"error": {
        "code": "event_id_reused",
        "message": "event evt_7 was already recorded with other content: an event id names "
                   "one event; send a change under a new id"}})
    assert harness.money_rows() == before


def test_the_same_event_re_serialised_is_a_redelivery_not_a_conflict(harness: Harness) -> None:
    harness.post_storefront(order_paid())
    event = return_requested()
    first = harness.post_storefront(event)
    reordered = dict(reversed(list(event.items())))  # same data, other key order and bytes

    again = harness.post_storefront(reordered)

    assert (first.status_code, again.status_code) == (201, 200)
    assert again.json is not None and again.json["duplicate"] is True


def test_a_dry_run_attempt_is_dry_run_in_the_answer_and_in_metrics_never_succeeded(
    any_db_url: str, clock: Callable[[], object], tmp_path: Path
) -> None:
    path = tmp_path / "policy.yaml"
    path.write_text(POLICY, encoding="utf-8")
    h = Harness(any_db_url, clock, settings={"policy": str(path)})  # no Stripe key: dry run
    try:
        h.post_storefront(order_paid("o-1", reference="pi_1"))
        event = return_requested("r-1", "o-1",
                                 lines=[{"line_id": "l1", "quantity": 1, "reason": "too_large"}])
        h.post_storefront(event)
        h.drain()
        again = h.post_storefront(event).json  # the redelivery answers with the attempt now
        metrics = h.client().get("/metrics").get_data(as_text=True).splitlines()
    finally:
        h.close()
    assert again is not None
    assert [(a["provider"], a["status"]) for a in again["attempts"]] == [("dryrun", "dry_run")]
    assert 'refunds_attempts{status="dry_run"} 1' in metrics
    # every status an attempt can be shown with has its series, at zero until one has it
    shown = [line for line in metrics if line.startswith("refunds_attempts{")]
    assert shown == [f'refunds_attempts{{status="{s}"}} {int(s == "dry_run")}' for s in (
        "canceled", "dry_run", "failed", "held", "in_progress", "pending", "sent", "succeeded",
        "test_mode", "unknown")]


def test_a_dry_run_answer_says_no_money_moves_and_keeps_its_other_fields(
    any_db_url: str, clock: Callable[[], object], tmp_path: Path
) -> None:
    """In dry run the answer's words are as true as its ``dry_run``: we would refund, and no
    money moves; every other field is the one a live service gives."""
    path = tmp_path / "policy.yaml"
    path.write_text(POLICY, encoding="utf-8")
    h = Harness(any_db_url, clock, settings={"policy": str(path)})  # no Stripe key: dry run
    try:
        h.post_storefront(order_paid("o-1"))
        approved = h.post_storefront(return_requested(
            "r-1", "o-1", lines=[{"line_id": "l1", "quantity": 1, "reason": "too_large"}])).json
        h.post_storefront(order_paid("o-2", reference="pi_2"))
        review = h.post_storefront(return_requested(
            "r-2", "o-2", lines=[{"line_id": "l1", "quantity": 1, "reason": "too_small"}])).json
    finally:
        h.close()
    assert approved is not None and review is not None
    assert approved["explanation"] == (
        "Your return of 1 × Mug is approved. Dry run: we would refund 25.00 USD to your "
        "original payment; no money moves. Please send back: Mug.")
    assert {k: approved[k] for k in ("outcome", "resolution", "amount", "refund_amount",
                                     "credit_amount", "currency", "reason_code", "dry_run")} == {
        "outcome": "approve", "resolution": "refund", "amount": 2500, "refund_amount": 2500,
        "credit_amount": 0, "currency": "USD", "reason_code": "approved", "dry_run": True}
    assert [(a["kind"], a["amount"]) for a in approved["attempts"]] == [("refund", 2500)]
    assert "Dry run: if it is approved, we would refund 25.00 USD to your original payment; " \
        "no money moves." in review["explanation"]
    assert "We will" not in approved["explanation"] + review["explanation"]
    assert "we will refund" not in review["explanation"]
