"""Removing the app in the Dashboard and installing it again: Saleor refuses a second install of
the same identifier, so a reinstall always follows a removal, with a new token, a new app id and
perhaps rotated keys. Nothing of the old install may linger."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from refunds_plugin.ledger.tables import saleor_installs

ORDER = "T3JkZXI6MQ=="
LINE = "T3JkZXJMaW5lOjE="
NEW_APP = "QXBwOjI="


def _install_row(shop):
    with shop.engine.connect() as conn:
        return conn.execute(select(saleor_installs)).one()


def test_a_reinstall_after_removal_uses_the_new_token_app_id_and_keys_everywhere(installed, clock):
    shop, saleor = installed, installed.saleor
    saleor.add_order(ORDER, lines=[(LINE, 2, "12.50")], shipping="5.00")
    assert shop.webhook("ORDER_FULLY_PAID", ORDER).status_code == 200
    assert shop.return_request(ORDER, [(LINE, 1, "changed_mind")]).status_code == 201

    # the merchant removes the app: Saleor revokes its token before the refund went out
    saleor.token = "revoked"
    shop.executor.drain()
    [attempt] = shop.attempts()
    assert (attempt.status, attempt.last_error.split(":")[0]) == ("pending", "permission_denied")
    assert saleor.mutations() == []

    # ... and installs it again: a new App with a new token; Saleor rotated its key meanwhile
    saleor.token, saleor.app_id = "saleor-app-token-2", NEW_APP
    saleor.rotate()
    fetches = saleor.jwks_fetches
    assert shop.install("saleor-app-token-2").status_code == 200
    row = _install_row(shop)
    assert (row.token, row.app_id) == ("saleor-app-token-2", NEW_APP)
    assert '"kid-2"' in row.jwks and '"kid-1"' not in row.jwks
    assert saleor.jwks_fetches == fetches + 1

    # webhooks signed with the new key verify from the stored keys, no second fetch; the new
    # app's own events are recognised as ours
    saleor.orders[ORDER]["updatedAt"] = "2026-11-24T13:00:00+00:00"  # a new order state
    resp = shop.webhook("ORDER_UPDATED", ORDER,
                        principal={"__typename": "App", "id": NEW_APP, "identifier": "x"})
    assert resp.status_code == 200 and resp.get_json()["self"] is True
    assert saleor.jwks_fetches == fetches + 1

    # the waiting refund goes out with the new token at its next try
    clock.advance(timedelta(minutes=10).total_seconds())
    shop.executor.drain()
    [attempt] = shop.attempts()
    assert attempt.status == "sent"
    assert [op for op, _ in saleor.mutations()] == [
        "RefundsReturnProducts", "RefundsGrantRefund", "RefundsRequestGrantedRefund"]
