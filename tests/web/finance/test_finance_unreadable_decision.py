"""A decision sent to review whose stored body cannot be read (edited by hand, cut short by a
partial restore): the decision page and the review queue show what can be read and one line
naming the row; an admin's approval or decline, on the page or through the API, is refused
(409) with nothing recorded and no money moved."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import update

from refunds_plugin.ledger.tables import decisions
from tests.fakes.finance_scene import Scene, csrf

CUT = '{"outcome": "review", "resolu'
WHY = "not valid JSON: Unterminated string starting at: line 1 column 23 (char 22)"


def _cut(scene: Scene) -> str:
    with scene.shop.runtime.engine.begin() as conn:
        conn.execute(update(decisions).where(decisions.c.id == scene.review_id)
                     .values(body=CUT))
    return (f"The stored record of decision {scene.review_id} cannot be read: decisions.body "
            f"({WHY}). A person must look at the row; nothing was changed.")


def _alert(html: str) -> list[str]:
    return re.findall(r'<p class="error unreadable" role="alert">(.*?)</p>', html, re.S)


def test_the_decision_page_and_the_queue_show_a_review_that_cannot_be_read_as_a_line(
    scene: Scene, caplog: pytest.LogCaptureFixture,
) -> None:
    line = _cut(scene)
    before = scene.snapshot()
    client = scene.login(scene.admin)

    page = client.get(f"/finance/decisions/{scene.review_id}")
    queue = client.get("/finance/reviews")

    assert page.status_code == 200, page.get_data(as_text=True)
    html = page.get_data(as_text=True)
    assert _alert(html) == [line]
    assert "Decision for order o-2" in html and "<dt>Outcome</dt>" in html
    assert queue.status_code == 200, queue.get_data(as_text=True)
    shown = queue.get_data(as_text=True)
    assert _alert(shown) == [line]
    assert f'action="/finance/reviews/{scene.review_id}"' not in shown  # no form to decide it
    errors = [r.getMessage() for r in caplog.records
              if r.name == "refunds.finance" and r.levelname == "ERROR"]
    assert errors == [f"decision {scene.review_id}, order o-2: {line}",
                      f"review of decision {scene.review_id}, order o-2: {line}"]
    assert CUT not in caplog.text
    assert scene.snapshot() == before


@pytest.mark.parametrize("action", ["approve", "decline"])
def test_deciding_a_review_that_cannot_be_read_is_refused_and_records_nothing(
    scene: Scene, action: str,
) -> None:
    line = _cut(scene)
    before = scene.snapshot()
    client = scene.login(scene.admin)

    form = client.post(f"/finance/reviews/{scene.review_id}", data={
        "action": action, "note": "looks fine",
        "csrf_token": csrf(client, f"/finance/decisions/{scene.review_id}")})
    api = scene.shop.app.test_client().post(
        f"/api/reviews/{scene.review_id}", json={"action": action, "note": "looks fine"},
        headers={"Authorization": f"Bearer {scene.admin}"})

    assert form.status_code == 409
    assert line in form.get_data(as_text=True)
    assert (api.status_code, api.get_json()) == (409, {"error": {
        "code": "unreadable_record",
        "message": f"decision {scene.review_id}'s stored body (decisions.body) cannot be read "
                   f"({WHY}); a person must repair the row first"}})
    assert scene.snapshot() == before  # the review still open, no attempt, no journal entry
