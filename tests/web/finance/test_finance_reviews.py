"""The review queue: an admin decides once, with a note, audited in the ledger; an approval is
paid out by the executor like any other decision."""

from __future__ import annotations

from sqlalchemy import text

from refunds_plugin.finance.verify import verify_ledger
from tests.fakes.finance_scene import Scene, csrf


def rows(scene: Scene, sql: str, **params: object) -> list[tuple[object, ...]]:
    with scene.shop.runtime.engine.connect() as conn:
        return [tuple(r) for r in conn.execute(text(sql), params)]


def test_an_admin_approval_is_journalled_and_then_paid_out_in_full(scene: Scene) -> None:
    client = scene.login(scene.admin)
    resp = client.post(f"/finance/reviews/{scene.review_id}", data={
        "action": "approve", "note": "loyal customer, late by a month",
        "csrf_token": csrf(client, "/finance/reviews")})
    assert resp.status_code == 303
    assert rows(scene, "SELECT status, decided_by, note FROM reviews WHERE decision_id = :d",
                d=scene.review_id) == [
        ("approved", "Ada Admin (token #1)", "loyal customer, late by a month")]
    entry = rows(scene, "SELECT entry_type, body FROM ledger_entries ORDER BY seq DESC LIMIT 1")
    assert entry[0][0] == "review_decided"
    assert '"status":"approved"' in str(entry[0][1])
    assert rows(scene, "SELECT kind, amount, currency, status FROM refund_attempts "
                "WHERE decision_id = :d", d=scene.review_id) == [("refund", 4000, "EUR", "pending")]
    scene.shop.pay_out()
    assert rows(scene, "SELECT status, sent_amount FROM refund_attempts WHERE decision_id = :d",
                d=scene.review_id) == [("succeeded", 4000)]
    assert verify_ledger(scene.shop.runtime.engine) == []
    page = client.get(f"/finance/decisions/{scene.review_id}").get_data(as_text=True)
    # the dry-run provider moved no money: the page says dry_run, never succeeded
    assert "dryrun_" in page and "loyal customer" in page
    assert '<td class="status-dry_run">dry_run</td>' in page and "succeeded" not in page
    assert "dry_run (dry run: no money moved)" in page


def test_a_review_is_decided_once_even_when_approved_twice(scene: Scene) -> None:
    client = scene.login(scene.admin)
    token = csrf(client, "/finance/reviews")
    form = {"action": "approve", "note": "ok", "csrf_token": token}
    assert client.post(f"/finance/reviews/{scene.review_id}", data=form).status_code == 303
    before = rows(scene, "SELECT count(*) FROM ledger_entries")
    again = client.post(f"/finance/reviews/{scene.review_id}",
                        data={**form, "action": "decline"})
    assert again.status_code == 409
    api = scene.shop.app.test_client().post(
        f"/api/reviews/{scene.review_id}", json={"action": "approve", "note": "again"},
        headers={"Authorization": f"Bearer {scene.admin}"})
    assert api.status_code == 409
    assert api.get_json()["error"]["code"] == "review_closed"
    assert rows(scene, "SELECT count(*) FROM refund_attempts WHERE decision_id = :d",
                d=scene.review_id) == [(1,)]
    assert rows(scene, "SELECT count(*) FROM ledger_entries") == before


def test_a_decline_records_the_outcome_and_moves_no_money(scene: Scene) -> None:
    resp = scene.shop.app.test_client().post(
        f"/api/reviews/{scene.review_id}", json={"action": "decline", "note": "worn item"},
        headers={"Authorization": f"Bearer {scene.admin}"})
    assert resp.status_code == 200
    assert resp.get_json() == {"decision_id": scene.review_id, "status": "declined",
                               "attempt_ids": [], "order_id": "o-2", "adjusted": None}
    assert rows(scene, "SELECT status, note FROM reviews") == [("declined", "worn item")]
    assert rows(scene, "SELECT count(*) FROM refund_attempts WHERE decision_id = :d",
                d=scene.review_id) == [(0,)]
    assert verify_ledger(scene.shop.runtime.engine) == []


def test_approval_is_refused_when_the_payment_was_refunded_meanwhile(scene: Scene) -> None:
    with scene.shop.runtime.engine.begin() as conn:  # as a charge.refunded event would report
        conn.execute(text("UPDATE payments SET refunded_reported = captured "
                          "WHERE reference = 'pay_o-2'"))
    before = rows(scene, "SELECT * FROM ledger_entries ORDER BY seq")
    resp = scene.shop.app.test_client().post(
        f"/api/reviews/{scene.review_id}", json={"action": "approve", "note": "ok"},
        headers={"Authorization": f"Bearer {scene.admin}"})
    assert resp.status_code == 400
    assert resp.get_json()["error"]["code"] == "not_refundable"
    assert rows(scene, "SELECT status FROM reviews") == [("open",)]
    assert rows(scene, "SELECT count(*) FROM refund_attempts WHERE decision_id = :d",
                d=scene.review_id) == [(0,)]
    assert rows(scene, "SELECT * FROM ledger_entries ORDER BY seq") == before


def test_a_decision_needs_a_note(scene: Scene) -> None:
    resp = scene.shop.app.test_client().post(
        f"/api/reviews/{scene.review_id}", json={"action": "approve", "note": "  "},
        headers={"Authorization": f"Bearer {scene.admin}"})
    assert resp.status_code == 400
    assert rows(scene, "SELECT status FROM reviews") == [("open",)]
