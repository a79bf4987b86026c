"""An exchange's money paid through a Stripe Checkout Session records the mode Stripe made the
session in (``exchanges.livemode``, ``exchange_dues.livemode``, revision 0030: the session's
own ``livemode``, else the event's), and its journal entry carries it. Money paid in Stripe's
test mode (a test key) is no real money: the finance summary and the insights' costs leave it
out of the differences and the originals paid, and the summary lists it apart
(``test_mode_exchange_paid``: its page, CSV and ``ledger report``). One whose mode is not known
counts as before."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from click.testing import CliRunner

from refunds_plugin.cli import main
from refunds_plugin.finance.summary import summarize
from refunds_plugin.finance.tokens import create_token
from refunds_plugin.finance.verify import verify_ledger
from refunds_plugin.insights.costs import costs
from refunds_plugin.insights.period import Period
from refunds_plugin.ledger.migrate import head_revision, migrate
from refunds_plugin.ledger.tables import exchange_dues, exchanges
from tests.fakes import Harness, stripe_event
from tests.fakes.finance_scene import as_before
from tests.fakes.outbound_receiver import ANNOUNCED
from tests.fakes.stripe_api import FakeStripe
from tests.integration.shipping.conftest import SHOP, Returns
from tests.integration.shipping.test_exchange_original_due import charge, expired_instant_swap
from tests.integration.test_exchange_stripe import POLICY, entries, shoe_order, swap

pytestmark = pytest.mark.usefixtures("erp")  # receives what ANNOUNCED shops send

MODES = [pytest.param("sk_test_fake", False, id="test_mode"),
         pytest.param("sk_live_fake", True, id="live")]


def _totals(h: Harness) -> dict[str, Any]:
    now = h.clock()
    [usd] = summarize(h.runtime.engine, now - timedelta(days=60), now + timedelta(days=1),
                      now).to_json()["totals"]
    return dict(usd)


def _charged_in_costs(h: Harness) -> int:
    now = h.clock()
    found = costs(h.runtime.engine, Period(now - timedelta(days=60), now + timedelta(days=1)))
    return found.figures["USD"].get("exchange_charged", 0)


@pytest.mark.parametrize("livemode", [False, True], ids=["test_mode", "live"])
def test_a_dearer_sizes_difference_records_the_mode_stripe_took_it_in(
    policy_harness: Any, fake_stripe: FakeStripe, livemode: bool,
) -> None:
    # a service with a test key offers no dearer exchange (it cannot take the difference):
    # Stripe's word on the session decides, whatever key the service holds (one of neither
    # form says no mode; a session opened before the shop changed its key)
    h = policy_harness(POLICY, return_addresses=(SHOP,), **ANNOUNCED)
    fake_stripe.add_payment_intent(10000, "USD", "pi_123")
    assert h.post_storefront(shoe_order("USD", 10000, 12500)).status_code == 200
    decision_id = h.post_storefront(swap()).json["decision_id"]
    [cs_id] = fake_stripe.checkout_sessions
    paid = {**fake_stripe.complete_session(cs_id), "livemode": livemode}

    said = h.post_stripe(stripe_event("evt_cs_1", "checkout.session.completed", paid,
                                      livemode=livemode))

    assert said.json["note"] == f"exchange {decision_id} paid: waiting"
    [row] = h.rows(exchanges)
    assert (row.status, row.livemode) == ("waiting", livemode)
    assert [json.loads(e.body) for e in entries(h, "exchange_paid")] == [
        {"amount": 2500, "currency": "USD", "livemode": livemode,
         "paid_at": "2026-11-24T12:00:00+00:00", "status": "waiting",
         "payment_reference": paid["payment_intent"]}]  # what a refund of it names (0035)
    assert verify_ledger(h.runtime.engine) == []
    usd = _totals(h)
    # the exchange kept the sale either way; only a live difference is money taken
    charged = 2500 if livemode else 0
    assert (usd["exchanges"], usd["exchange_retained"], usd["exchange_charged"],
            usd["test_mode_exchange_paid"]) == (1, 10000, charged, 2500 - charged)
    assert _charged_in_costs(h) == charged


def test_a_difference_whose_mode_stripe_did_not_say_counts_as_before(
    policy_harness: Any, fake_stripe: FakeStripe,
) -> None:
    h = policy_harness(POLICY, return_addresses=(SHOP,), **ANNOUNCED)
    fake_stripe.add_payment_intent(10000, "USD", "pi_123")
    assert h.post_storefront(shoe_order("USD", 10000, 12500)).status_code == 200
    h.post_storefront(swap())
    [cs_id] = fake_stripe.checkout_sessions
    paid = {k: v for k, v in fake_stripe.complete_session(cs_id).items() if k != "livemode"}

    h.post_stripe(stripe_event("evt_cs_1", "checkout.session.completed", paid))

    [row] = h.rows(exchanges)
    assert (row.status, row.livemode) == ("waiting", None)
    assert [sorted(json.loads(e.body)) for e in entries(h, "exchange_paid")] == [
        ["amount", "currency", "paid_at", "payment_reference", "status"]]  # no livemode
    assert (_totals(h)["exchange_charged"], _totals(h)["test_mode_exchange_paid"]) == (2500, 0)
    assert _charged_in_costs(h) == 2500


@pytest.mark.parametrize(("key", "livemode"), MODES)
def test_an_original_due_paid_records_the_mode_stripe_took_it_in(
    returns_service: Callable[..., Returns], key: str, livemode: bool,
) -> None:
    r, decision = expired_instant_swap(returns_service, stripe_api_key=key)
    charge(r)
    [cs_id] = r.stripe.fake.checkout_sessions
    paid = r.stripe.fake.complete_session(cs_id)
    assert paid["livemode"] is livemode

    said = r.h.post_stripe(stripe_event("evt_due_1", "checkout.session.completed", paid,
                                        livemode=livemode))

    assert said.json["note"] == f"exchange {decision}: original due paid (20.00 USD)"
    [row] = r.h.rows(exchange_dues)
    assert (row.status, row.paid_amount, row.livemode) == ("paid", 2000, livemode)
    assert [(b["amount"], b["livemode"]) for _, b in r.journal("exchange_due_paid")] == [
        (2000, livemode)]
    assert verify_ledger(r.h.runtime.engine) == []
    usd = _totals(r.h)
    # 20.00 left due either way; paid only when it was real money
    # ... and apart, under test mode, when it was not
    assert (usd["exchange_original_due"], usd["exchange_original_paid"],
            usd["test_mode_exchange_paid"]) == (2000, 2000 if livemode else 0,
                                                0 if livemode else 2000)
    token = create_token(r.h.runtime.engine, "Fin", "finance", r.h.clock()).secret
    auth = {"Authorization": f"Bearer {token}"}
    since = (r.h.clock() - timedelta(days=60)).date().isoformat()
    page = r.h.client().get(f"/finance/summary?since={since}", headers=auth).get_data(
        as_text=True)
    assert ('originals not returned: <span class="nb">20.00 USD</span> due, <span class="nb">'
            f'{"20.00" if livemode else "0.00"} USD</span> paid') in page
    assert ('<th class="num">Stripe test mode</th>'
            '<th class="num">Exchanges paid in Stripe test mode</th></tr>') in page
    assert ('<td data-label="Exchanges paid in Stripe test mode" class="num">'
            f'{"0.00" if livemode else "20.00"} USD</td></tr>') in page
    assert ("One paid through a Checkout Session Stripe made in its test mode took no real "
            "money and is not counted as paid: it is under exchanges paid in Stripe test "
            "mode") in page
    table = list(csv.DictReader(io.StringIO(r.h.client().get(
        f"/api/summary?since={since}&format=csv", headers=auth).get_data(as_text=True))))
    assert [(t["exchange_original_paid"], t["test_mode_exchange_paid"],
             t["test_mode_exchange_paid_decimal"]) for t in table
            if t["exchange_original_due"] != "0"] == [
        ("2000", "0", "0.00") if livemode else ("0", "2000", "20.00")]
    out = CliRunner().invoke(main, ["ledger", "report", "--since", since], env={
        "REFUNDS_DATABASE_URL": r.h.runtime.engine.url.render_as_string(False)})
    assert out.exit_code == 0, out.output
    header, usd_row = out.output.splitlines()[1:3]
    at = header.index("exchanges paid in stripe test mode")
    assert usd_row[at:].strip() == ("0.00 USD" if livemode else "20.00 USD")


def test_a_release_rolled_back_and_deployed_again_keeps_the_exchanges_modes(
    returns_service: Callable[..., Returns],
) -> None:
    r, _ = expired_instant_swap(returns_service, stripe_api_key="sk_test_fake")
    charge(r)
    [cs_id] = r.stripe.fake.checkout_sessions
    paid = r.stripe.fake.complete_session(cs_id)
    r.h.post_stripe(stripe_event("evt_due_1", "checkout.session.completed", paid, livemode=False))
    engine = r.h.runtime.engine
    as_before(engine, "0029")  # the columns are dropped; the journal keeps what it said

    assert migrate(engine) == ("0029", head_revision())

    [row] = r.h.rows(exchange_dues)
    assert (row.status, row.livemode) == ("paid", False)
    assert r.h.rows(exchanges)[0].livemode is None  # its difference was never paid here
    assert _totals(r.h)["exchange_original_paid"] == 0
