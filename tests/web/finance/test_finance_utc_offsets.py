"""A time sent with another offset than UTC is the same moment everywhere: an order paid at
23:30 in New York on 22 November was paid on 23 November, UTC, so the summary counts its capture
on that day; a filter bound written as 07:00:01-05:00 is 12:00:01 UTC. On SQLite, which keeps
times without their offset, both used to be read as if the local clock time were UTC."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime

from sqlalchemy import select

from refunds_plugin.ledger.tables import orders
from tests.fakes.finance_scene import Scene


def _bearer(scene: Scene) -> dict[str, str]:
    return {"Authorization": f"Bearer {scene.finance}"}


NEW_YORK_ORDER = {"order": {
    "id": "ny-1", "currency": "USD", "paid_at": "2026-11-22T23:30:00-05:00",
    "customer": {"id": "cus_ny", "email": "ny@example.com"},
    "lines": [{"id": "l1", "sku": "MUG", "name": "Mug", "quantity": 1, "unit_amount": 2500}],
    "shipping_amount": 0, "total_amount": 2500,
    "payment": {"provider": "stripe", "reference": "pay_ny-1"},
}}


def test_an_order_paid_late_evening_in_new_york_counts_on_the_next_utc_day(
    scene: Scene,
) -> None:
    assert scene.shop.send("order.paid", NEW_YORK_ORDER)["updated"] is False
    # the same content again (a storefront's retry under a new event id) changes nothing
    again = scene.shop.send("order.paid", NEW_YORK_ORDER)
    assert (again["updated"], again.get("changed")) == (False, None)
    with scene.shop.runtime.engine.connect() as conn:
        paid = conn.execute(select(orders.c.paid_at).where(orders.c.order_id == "ny-1")).scalar()
    assert paid.replace(tzinfo=paid.tzinfo or UTC) == datetime(2026, 11, 23, 4, 30, tzinfo=UTC)

    client = scene.shop.app.test_client()
    data = client.get("/api/summary", headers=_bearer(scene)).get_json()
    usd_days = [(d["day"], t["sales"]) for d in data["days"] for t in d["totals"]
                if t["currency"] == "USD"]
    assert usd_days == [("2026-11-23", 2500)]
    rows = list(csv.DictReader(io.StringIO(client.get(
        "/api/summary?format=csv", headers=_bearer(scene)).get_data(as_text=True))))
    assert [(r["day"], r["sales"], r["sales_decimal"]) for r in rows
            if r["currency"] == "USD"] == [("2026-11-23", "2500", "25.00")]


def test_a_filter_bound_with_an_offset_is_the_same_moment_as_in_utc(scene: Scene) -> None:
    # the scene's two decisions were recorded at 2026-11-24 12:00:00 UTC
    client = scene.shop.app.test_client()

    def count(since: str) -> int:
        resp = client.get("/api/decisions", headers=_bearer(scene),
                          query_string={"since": since, "per_page": 200})
        assert resp.status_code == 200, resp.get_data(as_text=True)
        return len(resp.get_json()["data"])

    assert count("2026-11-24T12:00:01Z") == 0
    assert count("2026-11-24T07:00:01-05:00") == 0  # 12:00:01 UTC: after both
    assert count("2026-11-24T12:00:00Z") == 2
    assert count("2026-11-24T13:00:00+01:00") == 2  # 12:00:00 UTC: both
    data = client.get("/api/summary", headers=_bearer(scene), query_string={
        "since": "2026-11-24T13:00:00+01:00", "until": "2026-11-24T07:00:01-05:00"}).get_json()
    assert (data["since"], data["until"]) == ("2026-11-24T12:00:00+00:00",
                                            "2026-11-24T12:00:01+00:00")
    assert [(t["currency"], t["decisions"]) for t in data["totals"]] == [("EUR", 2)]
