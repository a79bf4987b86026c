"""A date filter that is no date (``?since=x``) is a 400 naming the parameter: JSON on /api,
an HTML page on /finance; never a 500. Nothing is recorded by a refused read."""

from __future__ import annotations

import html

import pytest

from tests.fakes.finance_scene import Scene

HINT = ("expected an ISO 8601 date such as 2026-11-01 or a datetime such as "
        "2026-11-01T10:00:00Z, found 'x'")
API = ["/api/decisions", "/api/attempts", "/api/summary"]
PAGES = ["/finance/", "/finance/summary"]


@pytest.mark.parametrize("path", API)
@pytest.mark.parametrize("param", ["since", "until"])
def test_the_api_answers_400_naming_the_parameter(scene: Scene, path: str, param: str) -> None:
    resp = scene.shop.app.test_client().get(
        f"{path}?{param}=x", headers={"Authorization": f"Bearer {scene.finance}"})

    assert (resp.status_code, resp.get_json()) == (400, {"error": {
        "code": "invalid_parameter", "message": f"{param}: {HINT}"}})


@pytest.mark.parametrize("path", PAGES)
@pytest.mark.parametrize("param", ["since", "until"])
def test_the_finance_pages_answer_an_html_page_naming_the_parameter(
    scene: Scene, path: str, param: str
) -> None:
    client = scene.login(scene.finance)

    resp = client.get(f"{path}?{param}=x")

    assert (resp.status_code, resp.mimetype) == (400, "text/html")
    page = html.unescape(resp.get_data(as_text=True))
    assert f'<p class="error" role="alert">{param}: {HINT}</p>' in page


def test_a_good_date_still_filters(scene: Scene) -> None:
    resp = scene.shop.app.test_client().get(
        "/api/decisions?since=2026-11-25T00:00:00Z",
        headers={"Authorization": f"Bearer {scene.finance}"})
    assert (resp.status_code, resp.get_json()["data"]) == (200, [])


def test_a_logged_in_person_refused_a_date_is_not_asked_to_log_in_and_the_tab_says_refused(
    scene: Scene,
) -> None:
    client = scene.login(scene.finance)

    page = client.get("/finance/summary?since=x").get_data(as_text=True)

    assert "<title>Refused · " in page
    assert '<a href="/finance/">Back to the decisions</a>' in page
    assert 'href="/finance/login"' not in page


SWAPPED = ("until: the period must end after it starts (since 2026-12-08T00:00:00+00:00, "
           "until 2026-12-01T00:00:00+00:00)")


@pytest.mark.parametrize("path", ["/api/decisions?", "/api/attempts?", "/api/decisions?format=csv&",
                                  "/api/attempts?format=csv&", "/api/withdrawals?"])
def test_a_list_asked_for_a_period_that_ends_before_it_starts_is_refused_not_empty(
    scene: Scene, path: str
) -> None:
    """From and Until swapped would otherwise read as "no decisions", which is untrue; the
    summary, the insights and ``ledger export`` refuse it alike."""
    resp = scene.shop.app.test_client().get(
        f"{path}since=2026-12-08&until=2026-12-01",
        headers={"Authorization": f"Bearer {scene.finance}"})

    assert (resp.status_code, resp.get_json()) == (400, {"error": {
        "code": "invalid_parameter", "message": SWAPPED}})


def test_the_decisions_page_says_the_period_ends_before_it_starts(scene: Scene) -> None:
    client = scene.login(scene.finance)

    resp = client.get("/finance/?since=2026-12-08&until=2026-12-01")

    assert resp.status_code == 400
    assert f'<p class="error" role="alert">{SWAPPED}</p>' in html.unescape(
        resp.get_data(as_text=True))
