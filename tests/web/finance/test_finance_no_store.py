"""Every finance answer (pages, JSON, CSV, refusals) and every customer returns page is sent
with ``Cache-Control: no-store``: no browser or proxy keeps a copy of a shop's money or a
customer's order. The finance pages' static files may be cached."""

from __future__ import annotations

from tests.fakes.finance_scene import Scene

PAGES = ("/finance/", "/finance/decisions/{review}", "/finance/reviews", "/finance/summary",
         "/finance/follow-ups", "/finance/tokens/", "/finance/outbox/", "/finance/insights/",
         "/finance/insights/reasons", "/finance/decisions/no-such-decision")
API = ("/api/decisions", "/api/decisions?format=csv", "/api/attempts",
       "/api/attempts?format=csv", "/api/summary", "/api/follow-ups",
       "/api/follow-ups?format=csv", "/api/withdrawals", "/api/outbox", "/api/returns",
       "/api/insights/reasons", "/api/openapi.json")


def test_every_finance_page_and_api_answer_is_sent_no_store(scene: Scene) -> None:
    client = scene.login(scene.admin)
    bearer = {"Authorization": f"Bearer {scene.admin}"}
    seen = {}
    for path in PAGES:
        resp = client.get(path.format(review=scene.review_id))
        seen[path] = (resp.status_code, resp.headers.get("Cache-Control"))
    for path in API:
        resp = client.get(path, headers=bearer)
        seen[path] = (resp.status_code, resp.headers.get("Cache-Control"))
    ok = {p: (404 if p.endswith("no-such-decision") else 200, "no-store") for p in PAGES + API}
    assert seen == ok


def test_refusals_and_the_login_page_are_sent_no_store_too_but_not_static_files(
    scene: Scene,
) -> None:
    client = scene.shop.app.test_client()
    seen = [(p, r.status_code, r.headers.get("Cache-Control"))
            for p in ("/finance/login", "/finance/", "/api/decisions", "/api/no-such-thing",
                      "/finance/no-such-page", "/returns", "/returns/status/not-a-link",
                      "/returns/no-such-page") if (r := client.get(p))]
    assert seen == [("/finance/login", 200, "no-store"), ("/finance/", 401, "no-store"),
                    ("/api/decisions", 401, "no-store"), ("/api/no-such-thing", 404, "no-store"),
                    ("/finance/no-such-page", 404, "no-store"), ("/returns", 200, "no-store"),
                    ("/returns/status/not-a-link", 404, "no-store"),
                    ("/returns/no-such-page", 404, "no-store")]
    resp = client.get("/finance/static/finance.css")  # may be cached
    assert (resp.status_code, resp.headers.get("Cache-Control")) == (200, "no-cache")
    resp.close()

