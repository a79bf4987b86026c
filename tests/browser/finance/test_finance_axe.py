"""The finance pages, checked by axe-core (../axe.py) on a 375 × 667 phone and a desk: log-in,
decisions, a decision with its money and one waiting for review, the review queue with its
approve/decline form, the outbox and an email preview, follow-ups, the summary, tokens, the
packing table and the insights. No serious or critical violation."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from typing import Any

import pytest

from tests.browser.axe import axe_js, violations
from tests.fakes.finance_scene import Scene, make_scene
from tests.fakes.loopback import serving

pytestmark = pytest.mark.browser


@pytest.fixture
def served(sqlite_url: str, now: datetime) -> Iterator[tuple[Scene, str]]:
    scene = make_scene(sqlite_url, now)
    try:
        with serving(scene.shop.app) as url:
            yield scene, url
    finally:
        scene.shop.runtime.engine.dispose()


@pytest.mark.parametrize(("width", "height"), [(375, 667), (1280, 800)])
def test_the_finance_pages_have_no_serious_accessibility_violation(
    served: tuple[Scene, str], chromium: Any, width: int, height: int,
) -> None:
    script = axe_js()
    scene, base = served
    context = chromium.new_context(viewport={"width": width, "height": height},
                                   bypass_csp=True)  # axe-core is a script
    page = context.new_page()
    found: dict[str, list[str]] = {}
    try:
        page.goto(f"{base}/finance/login")
        found["login"] = violations(page, script)
        page.fill("input[name=token]", scene.admin)
        page.click("button[type=submit]")
        page.wait_for_url(f"{base}/finance/")
        for path in ("/finance/", f"/finance/decisions/{scene.approved_id}",
                     f"/finance/decisions/{scene.review_id}", "/finance/reviews",
                     "/finance/outbox/",
                     f"/finance/outbox/preview?kind=in_review&decision={scene.review_id}",
                     "/finance/follow-ups?status=all",
                     "/finance/summary?since=2026-11-01&until=2026-12-01", "/finance/tokens/",
                     "/finance/receive?q=o-1", "/finance/insights/",
                     "/finance/insights/reasons", "/finance/insights/costs",
                     "/finance/insights/retention", "/finance/insights/feedback"):
            page.goto(base + path)
            found[path] = violations(page, script)
    finally:
        context.close()
    assert {path: v for path, v in found.items() if v} == {}
    assert len(found) == 16
