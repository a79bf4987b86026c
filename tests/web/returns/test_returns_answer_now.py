"""The answer's address, opened again once a person or the warehouse has acted, shows where the
return stands now, as the status page does: the amount a reviewer approved and what to send
back (not "If our team approves it … don't send anything back yet"), and no "Please send back"
line once the parcel is back."""

from __future__ import annotations

import re
from datetime import datetime

from refunds_plugin.config import ReturnAddress
from refunds_plugin.finance.tokens import create_token
from refunds_plugin.ledger.tables import decisions
from tests.fakes.returns_client import open_form, submit, text, words
from tests.fakes.returns_shop import ReturnsShop, order_event

DOCK = ReturnAddress("Our shop returns", "1 Dock Rd", "Austin", "78701", "US")
PARTS = ("outcome", "notice customer-note", "send-back", "stage", "return-instructions")


def _answered(shop: ReturnsShop, reason: str) -> tuple[str, str]:
    """One mug asked back: the answer's address and the status page's."""
    client = shop.app.test_client()
    answer = submit(client, open_form(client), **{"line-0-qty": "1", "line-0-reason": reason})
    link = re.search(r'id="status-link" href="([^"]+)"', answer.get_data(as_text=True))
    assert link
    return answer.request.path, link.group(1)


def _seen(shop: ReturnsShop, path: str) -> dict[str, list[str]]:
    page = shop.app.test_client().get(path)
    assert page.status_code == 200
    return {part: words(page, part) for part in PARTS} | {"text": [text(page)]}


def test_the_answer_shows_the_amount_a_person_approved_and_what_to_send_now(
    any_db_url: str, now: datetime,
) -> None:
    shop = ReturnsShop(any_db_url, lambda: now, {"policy": "preset:standard-30-day"})
    shop.seed(order_event("1001"))
    answer, status = _answered(shop, "other")  # "other" goes to a person
    assert "If our team approves it, you get:" in _seen(shop, answer)["text"][0]
    admin = create_token(shop.runtime.engine, "Ada Admin", "admin", now).secret
    [decision_id] = [row[0] for row in shop.rows(decisions)]
    resp = shop.app.test_client().post(
        f"/api/reviews/{decision_id}", headers={"Authorization": f"Bearer {admin}"},
        json={"action": "approve", "note": "fine", "amount": 1500,
              "customer_note": "As a goodwill gesture"})
    assert resp.status_code == 200, resp.get_data(as_text=True)

    again, now_status = _seen(shop, answer), _seen(shop, status)

    assert again == now_status
    assert again["outcome"] == [
        "Our team checked your return and approved it. Decided on 24 November 2026."]
    assert again["notice customer-note"] == ["A note from our team: As a goodwill gesture"]
    assert again["send-back"] == ["Please send back: Blue enamel mug."]
    assert again["stage"] == [
        "Refund to your original payment: 15.00 USD Test mode: nothing was sent to a payment "
        "provider and no money moved."]
    assert "19.05" not in again["text"][0]
    assert "don't send anything back yet" not in again["text"][0]
    shop.close()


def test_the_answer_no_longer_asks_for_the_parcel_once_it_is_back(
    any_db_url: str, now: datetime,
) -> None:
    shop = ReturnsShop(any_db_url, lambda: now, {"return_addresses": (DOCK,)})
    shop.seed(order_event("1001"))
    answer, status = _answered(shop, "changed_mind")
    assert _seen(shop, answer)["send-back"] == ["Please send back: Blue enamel mug."]
    [decision_id] = [row[0] for row in shop.rows(decisions)]

    shop.runtime.service.receive(decision_id, {"l1": ("as_new", None, False)}, "desk")
    again = _seen(shop, answer)

    assert again == _seen(shop, status)
    assert again["send-back"] == []
    assert again["return-instructions"] == ["Your parcel Received and checked by our team."]
    shop.close()
