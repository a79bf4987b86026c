"""An enumerated filter given a value it cannot have (``?outcome=approved``) is a 400
``invalid_parameter`` naming the parameter and the values allowed: JSON on /api, an HTML page
on /finance; never a quietly empty list."""

from __future__ import annotations

import csv
import html
import io
import re

import pytest

from tests.fakes.finance_scene import Scene

STATUSES = ("pending, held, in_progress, sent, unknown, succeeded, failed, canceled, dry_run, "
            "test_mode")


@pytest.mark.parametrize(("query", "said"), [
    ("/api/decisions?outcome=approved",
     "outcome: expected one of approve, review, decline, found 'approved'"),
    ("/api/decisions?resolution=cash",
     "resolution: expected one of refund, credit, credit+refund, none, found 'cash'"),
    ("/api/decisions?status=done",
     f"status: expected one of none, {STATUSES}, mixed, found 'done'"),
    ("/api/attempts?status=done", f"status: expected one of {STATUSES}, found 'done'"),
    ("/api/attempts?kind=cash", "kind: expected one of refund, credit, found 'cash'"),
    ("/api/attempts?provider=paypal",
     "provider: expected one of stripe, saleor, dryrun, found 'paypal'"),
    ("/api/decisions?format=xml", "format: expected one of json, csv, found 'xml'"),
])
def test_the_api_answers_400_naming_the_parameter_and_its_values(
    scene: Scene, query: str, said: str
) -> None:
    resp = scene.shop.app.test_client().get(
        query, headers={"Authorization": f"Bearer {scene.finance}"})

    assert (resp.status_code, resp.get_json()) == (400, {"error": {
        "code": "invalid_parameter", "message": said}})


def test_the_finance_page_answers_an_html_page_naming_the_parameter(scene: Scene) -> None:
    resp = scene.login(scene.finance).get("/finance/?outcome=approved")

    assert (resp.status_code, resp.mimetype) == (400, "text/html")
    page = html.unescape(resp.get_data(as_text=True))
    assert ('<p class="error" role="alert">outcome: expected one of approve, review, decline, '
            "found 'approved'</p>") in page


@pytest.mark.parametrize(("query", "orders"), [
    ("/api/decisions?outcome=review&resolution=refund&status=none", ["o-2"]),
    ("/api/attempts?status=dry_run&kind=refund&provider=dryrun", ["o-1"]),
    ("/api/attempts?provider=stripe", []),
])
def test_an_allowed_value_still_filters(scene: Scene, query: str, orders: list[str]) -> None:
    resp = scene.shop.app.test_client().get(
        query, headers={"Authorization": f"Bearer {scene.finance}"})

    assert (resp.status_code, [r["order_id"] for r in resp.get_json()["data"]]) == (200, orders)


def test_the_decisions_page_offers_every_money_status_it_filters_on_and_keeps_the_one_asked(
    scene: Scene,
) -> None:
    """A decision whose refund waits for its parcel has the money status ``held``: the Money
    select offers it, and a list filtered on it shows it chosen, so pressing Filter again keeps
    the filter rather than quietly dropping it to "any"."""
    from refunds_plugin.finance.rows import DECISION_CHOICES

    page = scene.login(scene.finance).get("/finance/?status=held").get_data(as_text=True)
    money = page[page.index('<select name="status">'):]
    money = money[:money.index("</select>")]

    offered = re.findall(r'<option value="([^"]*)"', money)
    assert sorted(offered) == sorted(["", *DECISION_CHOICES["status"]])
    assert re.findall(r'<option value="([^"]*)" selected>', money) == ["held"]


@pytest.mark.parametrize(("query", "orders"), [
    ("/api/decisions?outcome=review%20&resolution=%20refund&status=none%20", ["o-2"]),
    ("/api/decisions?order=%20o-1%20", ["o-1"]),
    ("/api/attempts?status=dry_run%20&kind=refund%20&provider=%20dryrun", ["o-1"]),
    ("/api/attempts?order=o-1%20", ["o-1"]),
])
def test_a_value_with_spaces_around_it_filters_as_the_page_does(
    scene: Scene, query: str, orders: list[str]
) -> None:
    """The page takes ``review `` as ``review`` (and its Download CSV link with it); the API
    checked the value without its spaces but then matched it with them, answering a quietly
    empty list (JSON and CSV alike) where the page listed the decision."""
    auth = {"Authorization": f"Bearer {scene.finance}"}
    client = scene.shop.app.test_client()
    as_json = client.get(query, headers=auth)
    as_csv = client.get(query + "&format=csv", headers=auth)

    assert (as_json.status_code, [r["order_id"] for r in as_json.get_json()["data"]]) == (
        200, orders)
    assert [r["order_id"] for r in csv.DictReader(io.StringIO(as_csv.get_data(as_text=True)))
            ] == orders
