"""The Insights pages behind the finance login: each renders its chart and table, refuses a
bad period naming the parameter (as a page, 400), and none answers without a token."""

from __future__ import annotations

from refunds_plugin.finance.tokens import create_token
from tests.fakes import Harness
from tests.fakes.finance_scene import csrf
from tests.fakes.insights_history import History

PAGES = ("reasons", "costs", "retention", "feedback")


def test_each_page_has_its_chart_and_table_and_names_a_bad_parameter(
    shop: tuple[Harness, History],
) -> None:
    h, _ = shop
    token = create_token(h.runtime.engine, "Fin", "finance", h.clock()).secret
    client = h.client()
    login = client.post("/finance/login", data={"token": token,
                                                "csrf_token": csrf(client, "/finance/login")})
    assert login.status_code == 303
    index = client.get("/finance/insights/").get_data(as_text=True)
    assert "/finance/insights/reasons?reason=not_as_described" in index
    for name in PAGES:
        resp = client.get(f"/finance/insights/{name}?since=2026-05-01&until=2026-06-15")
        html = resp.get_data(as_text=True)
        assert resp.status_code == 200, html
        assert 'class="pygal-chart insight-chart"' in html and "<table" in html
        assert "<script" not in html
    bad = client.get("/finance/insights/costs?since=2026-06-15&until=2026-05-01")
    assert bad.status_code == 400
    assert "until: the period must end after it starts" in bad.get_data(as_text=True)
    bad = client.get("/finance/insights/reasons?reason=ugly")
    assert bad.status_code == 400
    assert "reason: expected one of damaged, defective" in bad.get_data(as_text=True)


def test_nobody_without_a_token_sees_an_insight(shop: tuple[Harness, History]) -> None:
    h, _ = shop
    client = h.client()
    for name in PAGES:
        assert client.get(f"/finance/insights/{name}").status_code == 401
        assert client.get(f"/api/insights/{name}").status_code == 401
    assert client.get("/api/insights/compare?candidate=default").status_code == 401
