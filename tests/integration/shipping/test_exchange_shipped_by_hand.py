"""An exchange nobody was told to ship (no ``REFUNDS_OUTBOUND_URL``, not a Saleor order) is sent
by a person, who records it on its follow-up (or its decision page, or the API): the exchange
moves to shipped through the worker's own guarded move, once, with who, carrier and tracking
number in its journal entry; the follow-up is cleared. A second submit, an unknown exchange,
one a channel ships and a tracking number too long record nothing and say why."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import pytest
from flask.testing import FlaskClient

from refunds_plugin.finance.tokens import create_token
from refunds_plugin.ledger.tables import decisions, exchanges, follow_ups, outbox
from tests.fakes.finance_scene import csrf
from tests.fakes.outbound_receiver import ANNOUNCED
from tests.fakes.smtp_sink import SmtpSink
from tests.integration.shipping.conftest import Returns
from tests.integration.shipping.test_exchange_triggers import POLICY, SHIRT, swap

pytestmark = pytest.mark.usefixtures("erp")
TRACKING = "1Z999AA10123456784"


def _shop(returns_service: Callable[..., Returns], smtp: SmtpSink,
          announced: bool = False) -> tuple[Returns, str]:
    """Shirt M for Shirt S, shipped at approval, on a shop whose customer mail goes through
    the courier: the service and the exchange's decision id, after every round has run."""
    r = returns_service(POLICY + "  ship_on: approval\n", mail_url=smtp.url,
                        mail_from="Shirts <returns@shirts.example>",
                        **(ANNOUNCED if announced else {}))
    r.paid(lines=SHIRT, shipping=0)
    decision = str(r.ask(lines=swap("SHIRT-S", "Shirt S", 2000))["decision_id"])
    _rounds(r)
    return r, decision


def _rounds(r: Returns) -> None:
    """The shipping desk, the exchange worker and the courier; twice, as a second worker."""
    assert r.h.runtime.exchanges is not None
    for _ in range(2):
        r.labels()
        r.h.runtime.exchanges.run_once()
        r.h.drain()


def _login(r: Returns, name: str, role: str = "admin") -> tuple[FlaskClient, int]:
    token = create_token(r.h.runtime.engine, name, role, r.h.clock())
    client = r.h.client()
    resp = client.post("/finance/login", data={"token": token.secret,
                                               "csrf_token": csrf(client, "/finance/login")})
    assert resp.status_code == 303
    return client, token.principal.token_id


def _ship(client: FlaskClient, decision: str, **form: str) -> Any:
    data = {"csrf_token": csrf(client, "/finance/follow-ups"), **form}
    return client.post(f"/finance/exchanges/{decision}/shipped", data=data)


def _state(r: Returns, decision: str) -> tuple[str, str]:
    [row] = r.h.rows(exchanges, decision_id=decision)
    [f] = r.h.rows(follow_ups, subject=decision)
    return row.status, f.status


def _text(html: str) -> str:
    return re.sub(r"\s+", " ", html)


def test_a_person_records_the_exchange_shipped_once_and_its_follow_up_is_cleared(
    returns_service: Callable[..., Returns], smtp: SmtpSink,
) -> None:
    r, decision = _shop(returns_service, smtp)
    assert _state(r, decision) == ("ready", "open")
    assert "Your new item is ready to ship." in r.status_page(decision)
    mails, messages = list(smtp.received), r.h.rows(outbox)
    ada, ada_id = _login(r, "Ada")
    listed = ada.get("/finance/follow-ups").get_data(as_text=True)
    assert f'action="/finance/exchanges/{decision}/shipped"' in listed

    resp = _ship(ada, decision, carrier=" UPS ", tracking=TRACKING)

    assert resp.status_code == 303
    said = (f"Exchange {decision} of order 1001 is recorded as shipped (UPS {TRACKING}); its "
            "follow-up is cleared.")
    page = ada.get(resp.headers["Location"]).get_data(as_text=True)
    assert f'<p class="notice" role="status">{said}</p>' in page
    assert _state(r, decision) == ("shipped", "cleared")
    [f] = r.h.rows(follow_ups, subject=decision)
    assert f.cleared_at.replace(tzinfo=None) == r.h.clock().replace(tzinfo=None)
    by = f"Ada (token #{ada_id})"
    assert r.journal("exchange_shipped") == [("exchange_shipped", {
        "by_hand": {"by": by, "carrier": "UPS", "tracking_number": TRACKING},
        "replacement_id": None, "status": "shipped"})]
    # the customer reads what a shipped exchange says, whoever shipped it
    assert ("We have placed the order for your new item; it will be sent to you."
            in r.status_page(decision))
    shown = _text(ada.get(f"/finance/decisions/{decision}").get_data(as_text=True))
    assert f"<dt>Shipped by hand</dt><dd>{by} at " in shown
    assert f"(UPS {TRACKING})</dd>" in shown and "Mark shipped" not in shown

    # a double click (or a second admin, or the API) changes nothing and says so
    again = _ship(ada, decision, carrier="DHL", tracking="JD0001")
    assert again.status_code == 409
    assert (f"Nothing was recorded: exchange {decision} was already recorded as shipped by "
            f"{by} (UPS {TRACKING}) at ") in again.get_data(as_text=True)
    admin = create_token(r.h.runtime.engine, "Bo", "admin", r.h.clock()).secret
    api = r.h.client().post(f"/api/exchanges/{decision}/shipped", json={"carrier": "DHL"},
                            headers={"Authorization": f"Bearer {admin}"})
    assert api.status_code == 409 and api.get_json()["error"]["code"] == "already_shipped"
    _rounds(r)
    assert len(r.journal("exchange_shipped")) == 1
    assert _state(r, decision) == ("shipped", "cleared")
    # the same as the channel's shipped: no message of its own, to the customer or anyone
    assert r.h.rows(outbox) == messages
    assert [m.subject for m in smtp.received] == [m.subject for m in mails]
    assert r.h.chain_problem() is None


def test_bad_input_records_nothing_and_says_why(
    returns_service: Callable[..., Returns], smtp: SmtpSink,
) -> None:
    r, decision = _shop(returns_service, smtp)
    ada, _ = _login(r, "Ada")
    fin, _ = _login(r, "Fin", "finance")

    long = _ship(ada, decision, carrier="UPS", tracking="1Z" + "9" * 63)
    assert long.status_code == 400
    assert ("Nothing was recorded: the tracking number is 65 characters long; at most 64 are "
            "accepted.") in long.get_data(as_text=True)
    unknown = _ship(ada, "no-such-exchange")
    assert unknown.status_code == 404
    assert "Nothing was recorded: there is no exchange no-such-exchange." in unknown.get_data(
        as_text=True)
    assert _ship(fin, decision).status_code == 403  # finance reads; only admins act
    forged = ada.post(f"/finance/exchanges/{decision}/shipped", data={"csrf_token": "forged"})
    assert forged.status_code == 400
    assert "This form has expired or did not come from this site." in forged.get_data(
        as_text=True)
    bo = create_token(r.h.runtime.engine, "Bo", "admin", r.h.clock())
    bearer = {"Authorization": f"Bearer {bo.secret}"}
    for body, status, code in (
            ({"tracking_number": "x" * 65}, 400, "tracking_number_too_long"),
            ({"carrier": 7}, 400, "invalid_request"),
            ({"tracking": TRACKING}, 400, "invalid_request")):
        resp = r.h.client().post(f"/api/exchanges/{decision}/shipped", json=body,
                                 headers=bearer)
        assert (resp.status_code, resp.get_json()["error"]["code"]) == (status, code)
    gone = r.h.client().post("/api/exchanges/nope/shipped", json={}, headers=bearer)
    assert (gone.status_code, gone.get_json()["error"]["code"]) == (404, "unknown_exchange")

    assert _state(r, decision) == ("ready", "open")
    assert r.journal("exchange_shipped") == []

    done = r.h.client().post(f"/api/exchanges/{decision}/shipped", headers=bearer)
    assert done.status_code == 200
    assert {k: v for k, v in done.get_json().items() if k != "shipped_at"} == {
        "decision_id": decision, "order_id": "1001", "status": "shipped",
        "shipped_by": f"Bo (token #{bo.principal.token_id})",
        "carrier": None, "tracking_number": None, "follow_up_cleared": True}
    assert _state(r, decision) == ("shipped", "cleared")


def test_an_exchange_its_channel_ships_is_not_marked_by_hand(
    returns_service: Callable[..., Returns], smtp: SmtpSink,
) -> None:
    """Told through ``exchange.ready_to_ship``, the worker marked it shipped itself: a person's
    mark records nothing (and an exchange still waiting for its return cannot be marked)."""
    r, decision = _shop(returns_service, smtp, announced=True)
    [row] = r.h.rows(exchanges, decision_id=decision)
    assert row.status == "shipped" and r.h.rows(follow_ups) == []
    ada, _ = _login(r, "Ada")
    resp = _ship(ada, decision, tracking=TRACKING)
    assert resp.status_code == 409
    assert (f"Nothing was recorded: exchange {decision} was already recorded as shipped (by "
            "its channel).") in resp.get_data(as_text=True)
    assert [b for _, b in r.journal("exchange_shipped")] == [
        {"replacement_id": None, "status": "shipped"}]


def test_the_decision_page_marks_it_too_and_one_still_waiting_for_its_return_cannot_be(
    returns_service: Callable[..., Returns], smtp: SmtpSink,
) -> None:
    r, decision = _shop(returns_service, smtp)
    ada, ada_id = _login(r, "Ada")
    page = _text(ada.get(f"/finance/decisions/{decision}").get_data(as_text=True))
    assert ('<dd class="exchange-ready">ready: nothing told the shop to ship it, a person sends '
            "it</dd>") in page
    data = {"csrf_token": csrf(ada, f"/finance/decisions/{decision}"), "from": "decision"}
    resp = ada.post(f"/finance/exchanges/{decision}/shipped", data=data)
    assert resp.status_code == 303
    assert resp.headers["Location"] == f"/finance/decisions/{decision}"  # the words: session
    shown = _text(ada.get(resp.headers["Location"]).get_data(as_text=True))
    assert (f"Exchange {decision} of order 1001 is recorded as shipped (no tracking); its "
            "follow-up is cleared.") in shown
    assert f"<dt>Shipped by hand</dt><dd>Ada (token #{ada_id}) at " in shown
    assert [b for _, b in r.journal("exchange_shipped")] == [
        {"by_hand": {"by": f"Ada (token #{ada_id})", "carrier": None, "tracking_number": None},
         "replacement_id": None, "status": "shipped"}]

    # an exchange that ships at the return's first scan, not scanned yet: nothing to send yet
    # (another service on the same database, another order)
    later = returns_service(POLICY + "  ship_on: first_scan\n")
    later.paid("1002", lines=SHIRT, shipping=0)
    waiting = str(later.ask("r-2", "1002", lines=swap())["decision_id"])
    bo = create_token(later.h.runtime.engine, "Bo", "admin", later.h.clock())
    refused = later.h.client().post(f"/api/exchanges/{waiting}/shipped", json={},
                                    headers={"Authorization": f"Bearer {bo.secret}"})
    assert refused.status_code == 409
    assert refused.get_json()["error"] == {
        "code": "not_shippable", "message": f"exchange {waiting} is not ready to ship: its "
        "return has not reached the point where the new items may ship"}
    assert [row.status for row in later.h.rows(exchanges, decision_id=waiting)] == ["waiting"]
    assert len(later.journal("exchange_shipped")) == 1  # the first exchange's only


def test_sent_by_hand_a_storefront_saying_out_of_stock_after_does_not_refund_it(
    returns_service: Callable[..., Returns], smtp: SmtpSink,
) -> None:
    r, decision = _shop(returns_service, smtp)
    ada, ada_id = _login(r, "Ada")
    assert _ship(ada, decision, tracking=TRACKING).status_code == 303
    attempts, decided = r.attempts(), r.h.rows(decisions)

    resp = r.h.post_storefront({"id": "sf_so_1", "type": "exchange.out_of_stock",
                                "created": int(r.h.clock().timestamp()),
                                "data": {"exchange": {"decision_id": decision}}})

    assert resp.status_code == 200, resp.get_data(as_text=True)
    assert resp.get_json()["note"] == (
        f"exchange {decision} was sent by hand (Ada (token #{ada_id}): {TRACKING}): "
        "nothing falls back for stock")
    assert _state(r, decision) == ("shipped", "cleared")
    assert (r.attempts(), r.h.rows(decisions)) == (attempts, decided)
    assert r.journal("exchange_out_of_stock") == []
