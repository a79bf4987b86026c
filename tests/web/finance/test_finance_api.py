"""The finance API: filters, pagination, CSV, the summary and the OpenAPI document."""

from __future__ import annotations

import csv
import io

import jsonschema
import pytest
from sqlalchemy import select
from werkzeug.test import TestResponse

from refunds_plugin.ledger.attempts import transition
from refunds_plugin.ledger.db import write_tx
from refunds_plugin.ledger.tables import refund_attempts
from tests.fakes.finance_scene import Scene


def get(scene: Scene, path: str) -> TestResponse:
    resp = scene.shop.app.test_client().get(
        path, headers={"Authorization": f"Bearer {scene.finance}"})
    assert resp.status_code == 200, resp.get_data(as_text=True)
    return resp


def test_decisions_filter_by_outcome_customer_order_and_rule(scene: Scene) -> None:
    def ids(query: str) -> list[str]:
        return [d["id"] for d in get(scene, f"/api/decisions?{query}").get_json()["data"]]

    assert ids("outcome=review") == [scene.review_id]
    assert ids("outcome=approve") == [scene.approved_id]
    assert ids("customer=ANN@example.com") == [scene.approved_id]
    assert ids("order=o-2") == [scene.review_id]
    assert ids("rule=outside_window_review") == [scene.review_id]
    # the scene runs in dry run: its paid-out refund moved no money, so it is never "succeeded"
    assert ids("status=dry_run") == [scene.approved_id]
    assert ids("status=succeeded") == []
    assert ids("status=none") == [scene.review_id]
    assert ids("since=2026-11-25") == []
    assert sorted(ids("")) == sorted([scene.approved_id, scene.review_id])


def test_a_query_parameter_the_document_does_not_list_is_refused_naming_it(
    scene: Scene,
) -> None:
    # a mistyped filter answered everything as if nothing had been asked
    client = scene.shop.app.test_client()
    auth = {"Authorization": f"Bearer {scene.finance}"}
    for path, message in [
        ("/api/decisions?stauts=failed",
         "'stauts' is not a parameter of GET /api/decisions (see /api/openapi.json)"),
        ("/api/summary?since=&x=1&sort=day",
         "'sort' is not a parameter of GET /api/summary (see /api/openapi.json)"),
        ("/api/insights/costs?by=sku",
         "'by' is not a parameter of GET /api/insights/costs (see /api/openapi.json)"),
    ]:
        resp = client.get(path, headers=auth)
        assert (resp.status_code, resp.get_json()) == (
            400, {"error": {"code": "invalid_parameter", "message": message}})
    assert client.get("/api/summary?stauts=1").status_code == 401  # who asks comes first
    # what the document lists still answers, empty as no filter
    assert get(scene, "/api/summary?since=&until=&format=").mimetype == "application/json"
    assert len(get(scene, "/api/decisions?outcome=&status=&page=1").get_json()["data"]) == 2


def test_decisions_are_paginated_newest_first(scene: Scene) -> None:
    first = get(scene, "/api/decisions?per_page=1").get_json()
    second = get(scene, "/api/decisions?per_page=1&page=2").get_json()
    assert (first["has_next"], second["has_next"]) == (True, False)
    assert {first["data"][0]["id"], second["data"][0]["id"]} == {scene.approved_id,
                                                                  scene.review_id}


def test_attempts_as_csv_carry_exact_amounts_and_provider_references(scene: Scene) -> None:
    resp = get(scene, "/api/attempts?format=csv")
    assert resp.mimetype == "text/csv"
    rows = list(csv.DictReader(io.StringIO(resp.get_data(as_text=True))))
    assert [(r["order_id"], r["kind"], r["amount"], r["currency"], r["status"]) for r in rows] == [
        ("o-1", "refund", "2500", "EUR", "dry_run")]
    assert rows[0]["provider_reference"].startswith("dryrun_")


def test_the_summary_counts_sales_by_payment_day_and_dry_run_apart_from_refunds(
    scene: Scene,
) -> None:
    # o-1 (25.00) was paid on 21 November; o-2 (40.00) 400 days ago, so its sale is not in
    # November even though it was recorded then. The scene runs in dry run: its payout is
    # dry_run money, not refunded money, and the refund rate is 0.
    data = get(scene, "/api/summary?since=2026-11-01&until=2026-12-01").get_json()
    assert data["totals"] == [{
        "currency": "EUR", "decisions": 2, "sales": 2500, "refunded": 0, "credited": 0,
        "kept": 0, "review_count": 1, "review_amount": 4000, "refund_rate_bp": 0,
        "dry_run": 2500, "exchanges": 0, "exchange_retained": 0, "exchange_charged": 0,
        "exchange_original_due": 0, "exchange_original_paid": 0, "sent_to_review": 1,
        "review_approved": 0, "review_approved_amount": 0, "review_declined": 0,
        "test_mode": 0, "test_mode_sales": 0, "test_mode_exchange_paid": 0}]
    assert [(d["day"], [t["sales"] for t in d["totals"]]) for d in data["days"]] == [
        ("2026-11-21", [2500]), ("2026-11-24", [0])]
    # the only decision whose money "returned" was the dry run's: counted apart
    assert data["promise"] == {"returned": 0, "median_seconds": None, "p95_seconds": None,
                               "missed": 0, "overdue": 0, "dry_run": 1, "test_mode": 0}
    csv_text = get(scene, "/api/summary?since=2026-11-01&until=2026-12-01&format=csv")
    assert csv_text.get_data(as_text=True).splitlines() == [
        "day,currency,decisions,sales,refunded,credited,kept,review_count,review_amount,"
        "refund_rate_bp,dry_run,exchanges,exchange_retained,exchange_charged,"
        "exchange_original_due,exchange_original_paid,sent_to_review,review_approved,"
        "review_approved_amount,review_declined,"  # the same amounts in major units follow
        "sales_decimal,refunded_decimal,credited_decimal,kept_decimal,review_amount_decimal,"
        "dry_run_decimal,exchange_retained_decimal,exchange_charged_decimal,"
        "exchange_original_due_decimal,exchange_original_paid_decimal,"
        "review_approved_amount_decimal,"
        # Stripe's test mode came later: after all of them, refunds', payments', then
        # exchanges' payments'
        "test_mode,test_mode_decimal,test_mode_sales,test_mode_sales_decimal,"
        "test_mode_exchange_paid,test_mode_exchange_paid_decimal",
        "2026-11-21,EUR,0,2500,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,"
        "25.00,0.00,0.00,0.00,0.00,0.00,0.00,0.00,0.00,0.00,0.00,0,0.00,0,0.00,0,0.00",
        "2026-11-24,EUR,2,0,0,0,0,1,4000,,2500,0,0,0,0,0,1,0,0,0,"
        "0.00,0.00,0.00,0.00,40.00,25.00,0.00,0.00,0.00,0.00,0.00,0,0.00,0,0.00,0,0.00",
    ]


def test_the_openapi_document_describes_every_endpoint_and_filter(scene: Scene) -> None:
    doc = scene.shop.app.test_client().get("/api/openapi.json").get_json()
    assert doc["openapi"].startswith("3.")
    assert set(doc["paths"]) == {"/api/decisions", "/api/attempts", "/api/summary",
                                 "/api/follow-ups", "/api/reviews/{decision_id}",
                                 "/api/returns", "/api/returns/{decision_id}/receive",
                                 "/api/outbox", "/api/outbox/{message_id}/resend",
                                 "/api/exchanges/{decision_id}/shipped",
                                 "/api/saleor-returns/{decision_id}/recorded",
                                 "/api/exchanges/{decision_id}/difference-refunded",
                                 "/api/insights/reasons", "/api/insights/costs",
                                 "/api/insights/retention", "/api/insights/feedback",
                                 "/api/insights/compare", "/api/withdrawals"}
    routes = {r.rule for r in scene.shop.app.url_map.iter_rules()
              if r.rule.startswith("/api/insights")}
    assert routes == {p for p in doc["paths"] if p.startswith("/api/insights")}
    names = {p["name"] for p in doc["paths"]["/api/follow-ups"]["get"]["parameters"]}
    assert names == {"status", "due", "page", "per_page", "format"}
    assert doc["components"]["schemas"]["FollowUp"]["properties"]["amount"]["type"] == "integer"
    names = {p["name"] for p in doc["paths"]["/api/decisions"]["get"]["parameters"]}
    assert {"since", "until", "outcome", "resolution", "status", "customer", "order", "rule",
            "page", "per_page", "format"} <= names


def test_every_insights_answer_declares_its_content_types_and_matches_its_schema(
    scene: Scene,
) -> None:
    """As /api/decisions does: JSON (with the document's schema) and CSV; the JSON each
    operation really answers validates against the schema it declares."""
    doc = scene.shop.app.test_client().get("/api/openapi.json").get_json()
    insights = {p: ops for p, ops in doc["paths"].items() if p.startswith("/api/insights")}
    for path, ops in insights.items():
        for method, op in ops.items():
            assert set(op["responses"]["200"]["content"]) == {"application/json", "text/csv"}, (
                path, method)
    compare = insights["/api/insights/compare"]
    assert [p["required"] for p in compare["get"]["parameters"]
            if p["name"] == "candidate"] == [True]
    assert compare["post"]["requestBody"]["required"] is True
    queries = {"/api/insights/reasons": "?reason=not_as_described", "/api/insights/costs": "",
               "/api/insights/retention": "", "/api/insights/feedback": "",
               "/api/insights/compare": "?candidate=default"}
    assert set(queries) == set(insights)
    for path, query in queries.items():
        schema = insights[path]["get"]["responses"]["200"]["content"]["application/json"]
        answer = get(scene, path + query)
        assert answer.mimetype == "application/json"
        jsonschema.validate(answer.get_json(), schema["schema"])
        assert get(scene, f"{path}{query or '?'}&format=csv").mimetype == "text/csv"
    # the schema can fail: an answer without its period does not match
    costs = get(scene, "/api/insights/costs").get_json()
    del costs["since"]
    with pytest.raises(jsonschema.ValidationError, match="'since' is a required property"):
        jsonschema.validate(costs, insights["/api/insights/costs"]["get"]["responses"]["200"][
            "content"]["application/json"]["schema"])
    # and GET compare without the candidate it marks required is the 400 naming it
    refused = scene.shop.app.test_client().get(
        "/api/insights/compare", headers={"Authorization": f"Bearer {scene.finance}"})
    assert refused.status_code == 400
    assert refused.get_json()["error"]["message"] == (
        "candidate: pick a preset or upload a policy file")


def test_the_pages_filter_and_show_the_summary_chart(scene: Scene) -> None:
    client = scene.login(scene.finance)
    listing = client.get("/finance/?outcome=review").get_data(as_text=True)
    assert "o-2" in listing and "o-1" not in listing
    summary = client.get("/finance/summary?since=2026-11-01&until=2026-12-01").get_data(
        as_text=True)
    assert "<svg" in summary and 'class="dry_run"' in summary
    assert "<dt>Money returned</dt><dd>0 decision(s)</dd>" in summary
    assert "<dt>Dry run (no money moved)</dt><dd>1 decision(s)</dd>" in summary
    assert "<script" not in summary


def test_an_attempt_whose_outcome_is_unknown_is_shown_and_filtered_as_unknown(
    scene: Scene
) -> None:
    engine = scene.shop.runtime.engine
    with write_tx(engine) as conn:
        attempt_id = conn.execute(select(refund_attempts.c.id).where(
            refund_attempts.c.decision_id == scene.approved_id)).scalar_one()
        # set up: the state the executor leaves after the last try of a timeout
        assert transition(conn, attempt_id, "unknown", scene.shop.now, expect=("succeeded",),
                          error="gave up after 8 tries: timeout")

    [row] = get(scene, "/api/decisions?status=unknown").get_json()["data"]
    assert (row["id"], row["money_status"]) == (scene.approved_id, "unknown")
    [att] = get(scene, "/api/attempts?status=unknown").get_json()["data"]
    assert (att["id"], att["amount"], att["status"]) == (attempt_id, 2500, "unknown")
    assert get(scene, "/api/decisions?status=succeeded").get_json()["data"] == []
    page = scene.login(scene.finance).get("/finance/?status=unknown").get_data(as_text=True)
    assert '<option value="unknown" selected>' in page and "o-1" in page
