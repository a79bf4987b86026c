"""A label fee given back: the customer paid for a prepaid label (``paid_by: customer``, the fee
deducted from their refund) that the shipping desk could never buy. The fee goes back by
itself, once, through the executor's recorded path (a refund attempt of the decision at
``LABEL_FEE_SEQ``), the way the decision's money went; money held for the parcel takes the fee
with it when it is released, and an expired return pays neither."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

from refunds_plugin.finance.summary import summarize
from refunds_plugin.finance.tokens import create_token
from refunds_plugin.ledger.attempts import attempt_id_for, idempotency_key_for
from refunds_plugin.ledger.db import write_tx
from refunds_plugin.ledger.label_fees import LABEL_FEE_SEQ
from refunds_plugin.ledger.tables import follow_ups, refund_attempts
from refunds_plugin.shipping.label_fee import give_back
from tests.fakes.smtp_sink import SmtpSink
from tests.integration.shipping.conftest import ANN, Returns

# DHL offers the EasyPost fake no rate: no label can ever be bought
FEE = """currency: USD
window: {days: 365, start: payment}
promise_hours: 48
return_shipping: {label: easypost, paid_by: customer, fee: "4.00", return_by_days: 30,
                  grace_days: 7, carriers: [DHL]}
"""
MUG = [{"line_id": "l1", "quantity": 1, "reason": "changed_mind"}]
SAID = (
    "Return {d} of order 1001: no prepaid label (No allowed carrier offers a rate for this "
    "parcel.). The customer was told a label was on its way and now has the return address "
    "and return-by date only; send them a label or tell them to post it themselves. "
)


def _attempts(r: Returns) -> list[tuple[int, str, int, str, str, str | None]]:
    return sorted(
        (a.seq, a.kind, int(a.amount), a.status, a.provider, a.payment_reference)
        for a in r.h.rows(refund_attempts)
    )


def _follow_up(r: Returns) -> str:
    [(kind, detail)] = [(f.kind, f.detail) for f in r.h.rows(follow_ups)]
    assert kind == "label_failed"
    return str(detail)


def _refunds(r: Returns) -> list[tuple[str, int]]:
    return [(x["payment_intent"], x["amount"]) for x in r.stripe.fake.refunds]


def test_no_label_gives_the_deducted_fee_back_once_to_the_payment_the_refund_went_to(
    shop: Callable[..., Returns],
    smtp: SmtpSink,
) -> None:
    r = shop(FEE)
    r.paid()
    answer = r.ask(lines=MUG)
    decision = answer["decision_id"]
    assert answer["refund_amount"] == 2100  # 25.00 less the 4.00 label fee
    r.h.drain()
    assert _refunds(r) == [("pi_1001", 2100)]

    r.labels()
    r.h.clock.advance(3600)
    r.labels()  # a later round gives nothing back again
    r.h.drain()
    r.h.drain()

    fee_id = attempt_id_for(decision, LABEL_FEE_SEQ)
    assert LABEL_FEE_SEQ == 970
    assert _attempts(r) == [
        (0, "refund", 2100, "succeeded", "stripe", "pi_1001"),
        (970, "refund", 400, "succeeded", "stripe", "pi_1001"),
    ]
    assert _refunds(r) == [("pi_1001", 2100), ("pi_1001", 400)]  # exactly one call for 4.00
    [fee_call] = [
        c
        for c in r.stripe.fake.calls_to("POST", "/v1/refunds")
        if str(c.params.get("amount")) == "400"
    ]
    assert fee_call.idempotency_key == idempotency_key_for(fee_id)
    assert r.journal("label_fee_given_back") == [
        (
            "label_fee_given_back",
            {
                "amount": 400,
                "currency": "USD",
                "kind": "refund",
                "provider": "stripe",
                "held": False,
                "refund_attempt_id": fee_id,
            },
        )
    ]
    assert _follow_up(r) == SAID.format(d=decision) + (
        "The 4.00 USD label fee deducted from their refund is being given back to them, to the "
        "payment their refund went to: nothing to do for it."
    )

    # the customer is told what the 4.00 USD is
    [mail] = [m for m in smtp.received if "4.00" in m.subject]
    assert mail.subject == "Your refund of 4.00 USD for order 1001 is on its way"
    assert mail.part("plain").startswith(
        "We sent 4.00 USD back to your original payment.\n\nWe could not get you a prepaid "
        "return label, so the 4.00 USD label fee we deducted from your refund is yours again."
        "\n\nDepending on your bank"
    )
    assert (
        "<p>We could not get you a prepaid return label, so the 4.00 USD label fee we "
        "deducted from your refund is yours again.</p>"
    ) in mail.part("html")
    # the 21.00 USD refund's mail says nothing of a label fee
    [sale] = [m for m in smtp.received if m.subject.startswith("Your refund of 21.00 USD")]
    assert "label fee" not in sale.part("plain")


def test_a_second_give_up_or_another_process_gives_nothing_more(
    returns_service: Callable[..., Returns],
) -> None:
    r = returns_service(FEE)
    r.paid()
    decision = r.ask(lines=MUG)["decision_id"]
    r.labels()
    engine = r.h.runtime.engine
    for _ in range(2):  # a second give-up, another worker: the same attempt, nothing new
        with write_tx(engine) as conn:
            again = give_back(conn, decision, 400, r.h.clock())
        assert again is not None and again.attempt_id == attempt_id_for(decision, 970)
    r.h.drain()
    assert _attempts(r) == [
        (0, "refund", 2100, "succeeded", "stripe", "pi_1001"),
        (970, "refund", 400, "succeeded", "stripe", "pi_1001"),
    ]
    assert len(r.journal("label_fee_given_back")) == 1
    assert sorted(_refunds(r)) == [("pi_1001", 400), ("pi_1001", 2100)]


def test_never_more_than_the_fee_deducted_and_nothing_when_none_was(
    returns_service: Callable[..., Returns],
) -> None:
    r = returns_service(FEE.replace("paid_by: customer", "paid_by: merchant"))
    r.paid()
    decision = r.ask(lines=MUG)["decision_id"]
    r.labels()
    r.h.drain()
    assert _attempts(r) == [(0, "refund", 2500, "succeeded", "stripe", "pi_1001")]
    assert _follow_up(r) == SAID.format(d=decision).rstrip()
    assert r.journal("label_fee_given_back") == []
    with write_tx(r.h.runtime.engine) as conn:  # a fee the decision never deducted
        assert give_back(conn, decision, 400, r.h.clock()) is None
    assert len(r.h.rows(refund_attempts)) == 1


def test_money_held_for_the_parcel_takes_the_fee_with_it_when_released(
    returns_service: Callable[..., Returns],
) -> None:
    r = returns_service(FEE + "refund_on: delivered\n")
    r.paid()
    decision = r.ask(lines=MUG)["decision_id"]
    r.labels()
    r.h.drain()
    assert _attempts(r) == [
        (0, "refund", 2100, "held", "stripe", "pi_1001"),
        (970, "refund", 400, "held", "stripe", "pi_1001"),
    ]
    assert r.stripe.fake.refunds == []
    assert _follow_up(r) == SAID.format(d=decision) + (
        "The 4.00 USD label fee deducted from their refund will be given back with it: the "
        "refund waits for the parcel, and both go when it is released."
    )

    # the customer posts it themselves; its receipt releases both
    r.h.runtime.service.receive(decision, {"l1": ("as_new", None, False)}, "dock")
    r.h.drain()
    assert _attempts(r) == [
        (0, "refund", 2100, "succeeded", "stripe", "pi_1001"),
        (970, "refund", 400, "succeeded", "stripe", "pi_1001"),
    ]
    assert sorted(_refunds(r)) == [("pi_1001", 400), ("pi_1001", 2100)]  # released together


def test_an_expired_return_pays_neither_the_refund_nor_the_fee(
    returns_service: Callable[..., Returns],
) -> None:
    r = returns_service(FEE + "refund_on: delivered\n")
    r.paid()
    r.ask(lines=MUG)
    r.labels()
    r.h.clock.advance(timedelta(days=38).total_seconds())
    r.labels()
    r.h.drain()
    assert _attempts(r) == [
        (0, "refund", 2100, "canceled", "stripe", "pi_1001"),
        (970, "refund", 400, "canceled", "stripe", "pi_1001"),
    ]
    assert r.stripe.fake.refunds == []


def test_store_credit_gets_its_fee_back_as_store_credit(
    shop: Callable[..., Returns],
    smtp: SmtpSink,
) -> None:
    r = shop(FEE + "reasons: {changed_mind: credit}\n")
    r.paid()
    r.ask(lines=MUG)
    r.labels()
    r.h.drain()
    assert _attempts(r) == [
        (0, "credit", 2100, "succeeded", "stripe", None),
        (970, "credit", 400, "succeeded", "stripe", None),
    ]
    assert r.stripe.fake.refunds == []
    assert _follow_up(r).endswith(
        "The 4.00 USD label fee deducted from their refund is being given back to them, as "
        "store credit like their refund: nothing to do for it."
    )
    assert r.journal("label_fee_given_back")[0][1]["kind"] == "credit"
    [mail] = [m for m in smtp.received if "4.00" in m.subject]
    assert mail.subject == "Your store credit of 4.00 USD for order 1001"
    assert (
        "We could not get you a prepaid return label, so the 4.00 USD label fee we deducted "
        "from your refund is yours again."
    ) in mail.part("plain")


def test_a_dry_run_gives_the_fee_back_as_a_dry_run(
    returns_service: Callable[..., Returns],
) -> None:
    r = returns_service(FEE, stripe_api_key="")
    r.paid()
    r.ask(lines=MUG)
    r.labels()
    r.h.drain()
    assert _attempts(r) == [
        (0, "refund", 2100, "succeeded", "dryrun", "pi_1001"),
        (970, "refund", 400, "succeeded", "dryrun", "pi_1001"),
    ]
    assert r.stripe.fake.refunds == []
    totals = summarize(r.h.runtime.engine, None, None, r.h.clock()).to_json()["totals"]
    assert [(t["refunded"], t["dry_run"]) for t in totals] == [(0, 2500)]


def test_finance_counts_the_fee_once_and_shows_it_on_the_decision(
    returns_service: Callable[..., Returns],
) -> None:
    r = returns_service(FEE)
    r.paid()
    decision = r.ask(lines=MUG)["decision_id"]
    r.h.drain()
    r.h.clock.advance(timedelta(hours=72).total_seconds())  # past the 48 h promise
    r.labels()
    r.h.drain()

    summary = summarize(r.h.runtime.engine, None, None, r.h.clock()).to_json()
    [total] = summary["totals"]
    # of the 55.00 order, the mug's 25.00 went back: 21.00 at once and the 4.00 fee later;
    # one decision, its promise kept (the fee's refund is not when its money was returned)
    assert (total["sales"], total["refunded"], total["decisions"]) == (5500, 2500, 1)
    assert (summary["promise"]["returned"], summary["promise"]["missed"]) == (1, 0)

    token = create_token(r.h.runtime.engine, "Fin", "finance", r.h.clock()).secret
    page = (
        r.h.client()
        .get(f"/finance/decisions/{decision}", headers={"Authorization": f"Bearer {token}"})
        .get_data(as_text=True)
    )
    assert "<td>refund (label fee given back)</td>" in page
    # the attempts' list and CSV say which money each gives back
    auth = {"Authorization": f"Bearer {token}"}
    listed = r.h.client().get("/api/attempts", headers=auth).get_json()["data"]
    assert sorted((a["amount"], a["kind"], a["gives_back"]) for a in listed) == [
        (400, "refund", "label_fee"), (2100, "refund", "sale")]
    csv_rows = r.h.client().get("/api/attempts?format=csv", headers=auth).get_data(
        as_text=True).splitlines()
    assert csv_rows[0].endswith(",livemode,gives_back")
    assert sorted(row.rsplit(",", 1)[1] for row in csv_rows[1:]) == ["label_fee", "sale"]


def test_an_address_the_carrier_refuses_gives_the_fee_back_too(
    returns_service: Callable[..., Returns],
) -> None:
    r = returns_service(FEE.replace(",\n                  grace_days: 7, carriers: [DHL]", ""))
    r.paid(address={**ANN, "postal_code": "00000"})  # the EasyPost fake refuses this one
    decision = r.ask(lines=MUG)["decision_id"]
    r.labels()
    r.h.drain()
    assert r.shipment().label_status == "no_label"
    assert [f.kind for f in r.h.rows(follow_ups)] == ["label_refused"]
    assert _attempts(r) == [
        (0, "refund", 2100, "succeeded", "stripe", "pi_1001"),
        (970, "refund", 400, "succeeded", "stripe", "pi_1001"),
    ]
    assert decision


def test_out_of_tries_the_fee_goes_back_once_across_the_rounds(
    returns_service: Callable[..., Returns],
) -> None:
    r = returns_service(FEE.replace(", carriers: [DHL]", ""), executor_max_tries=2)
    r.paid()
    decision = r.ask(lines=MUG)["decision_id"]
    r.easypost.fake.fail_next = [503, 503]
    r.labels()  # the first try: to be tried again, nothing given back yet
    r.h.drain()
    assert _attempts(r) == [(0, "refund", 2100, "succeeded", "stripe", "pi_1001")]
    for _ in range(3):  # the last try gives up; later rounds find nothing to do
        r.h.clock.advance(3600)
        r.labels()
        r.h.drain()
    assert r.shipment().label_status == "failed"
    assert _attempts(r) == [
        (0, "refund", 2100, "succeeded", "stripe", "pi_1001"),
        (970, "refund", 400, "succeeded", "stripe", "pi_1001"),
    ]
    assert _refunds(r) == [("pi_1001", 2100), ("pi_1001", 400)]
    assert _follow_up(r).endswith(
        "The 4.00 USD label fee deducted from their refund is being given back to them, to the "
        "payment their refund went to: nothing to do for it."
    )
    assert decision
