"""A free Saleor order's return that Saleor could not be told of (``saleor_returns`` ended
``failed``) is shown on finance's decision page in plain words, with what to do; one told or
still being told says so quietly, without the alarm."""

from __future__ import annotations

from typing import Any

from refunds_plugin.finance.tokens import create_token
from tests.fakes import Clock
from tests.fakes.finance_scene import csrf
from tests.fakes.saleor_harness import SaleorHarness
from tests.integration.saleor_app.test_saleor_free_order_return import ORDER, _ask, _free_order

ALARM = 'class="error saleor-return" role="alert"'


def _page(shop: SaleorHarness, decision_id: str, clock: Clock) -> str:
    finance = shop.app.test_client()
    secret = create_token(shop.engine, "Fay Finance", "finance", clock()).secret
    finance.post("/finance/login", data={"token": secret,
                                        "csrf_token": csrf(finance, "/finance/login")})
    resp = finance.get(f"/finance/decisions/{decision_id}")
    assert resp.status_code == 200, resp.get_data(as_text=True)
    return resp.get_data(as_text=True)


def _round(shop: SaleorHarness) -> Any:
    assert shop.runtime.saleor_returns is not None
    return shop.runtime.saleor_returns.run_once()


def test_a_return_saleor_was_not_told_of_is_on_the_decision_page_for_a_person(
    installed: SaleorHarness, clock: Clock,
) -> None:
    _free_order(installed)
    decision_id = _ask(installed).get_json()["decision_id"]
    assert ('<dt>Return in Saleor</dt><dd class="saleor-return-pending">not told yet (tries so '
            'far: 0)</dd>') in _page(installed, decision_id, clock)
    del installed.saleor.orders[ORDER]  # staff deleted the order in the Dashboard
    assert _round(installed) == 1

    page = _page(installed, decision_id, clock)

    assert (f'<p {ALARM}>Saleor was not told of this return: order_not_found: Saleor has no '
            f'order {ORDER}; record it in the Saleor dashboard, then mark it recorded on the '
            '<a href="/finance/follow-ups">follow-ups</a>.</p>') in page
    assert ('<dt>Return in Saleor</dt><dd class="saleor-return-failed">not told: see above'
            '</dd>') in page


def test_a_return_saleor_recorded_raises_no_alarm(installed: SaleorHarness,
                                                  clock: Clock) -> None:
    _free_order(installed)
    decision_id = _ask(installed).get_json()["decision_id"]
    assert _round(installed) == 1

    page = _page(installed, decision_id, clock)

    assert ('<dt>Return in Saleor</dt><dd class="saleor-return-recorded">recorded (fulfillment '
            'RnVsZmlsbG1lbnQ:1)</dd>') in page
    assert ALARM not in page and "Saleor was not told" not in page
