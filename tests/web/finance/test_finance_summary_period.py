"""The summary keeps the period it showed: an empty Until is now (to the end of the current
second), the form holds what was asked, so Show pressed unchanged shows the same decisions, and
the page says "until now". The decisions list's period fields keep what was typed too."""

from __future__ import annotations

import html as html_mod
import re
from datetime import UTC, datetime

from tests.fakes.finance_scene import Scene

DECISIONS = '<td data-label="Decisions" class="num">{}</td>'


def _form_values(html: str) -> dict[str, str]:
    """What the page's period form sends when Show is pressed unchanged."""
    return {name: html_mod.unescape(value) for name, value in re.findall(
        r'<input type="(?:date|text)" name="(since|until)" value="([^"]*)"', html)}


def test_show_pressed_unchanged_keeps_todays_decisions_on_the_summary(scene: Scene) -> None:
    # the two decisions were recorded at 12:00:00; the reader looks at 16:14:30 the same day
    scene.shop.now = datetime(2026, 11, 24, 16, 14, 30, tzinfo=UTC)
    client = scene.login(scene.finance)
    first = client.get("/finance/summary").get_data(as_text=True)
    assert DECISIONS.format(2) in first
    assert '<td data-label="Waiting for review" class="num">1 (40.00 EUR)</td>' in first
    assert _form_values(first) == {"since": "", "until": ""}
    assert ('<p class="hint" id="period-shown">From 2026-10-25 16:14 UTC until 2026-11-24 '
            "16:14 UTC (now).</p>") in first
    assert ("<dt>Period</dt><dd>from 2026-10-25 16:14 UTC until now (2026-11-24 16:14 UTC) "
            "(days are UTC days)</dd>") in first
    assert "an empty Until means now, an empty From 30 days before Until." in first

    again = client.get("/finance/summary", query_string=_form_values(first)).get_data(
        as_text=True)
    assert DECISIONS.format(2) in again
    assert "until now (2026-11-24 16:14 UTC)" in again

    # what the form used to send, Until = today's midnight, lost today's decisions
    dropped = client.get("/finance/summary?since=2026-10-25&until=2026-11-24").get_data(
        as_text=True)
    assert DECISIONS.format(0) in dropped
    assert "<dt>Period</dt><dd>from 2026-10-25 00:00 UTC until 2026-11-24 00:00 UTC" in dropped
    # a bound with a time stays as typed (a date field would have emptied it)
    timed = client.get("/finance/summary?since=2026-11-24&until=2026-11-24T12:00:01")
    text = timed.get_data(as_text=True)
    assert _form_values(text) == {"since": "2026-11-24", "until": "2026-11-24T12:00:01"}
    assert DECISIONS.format(2) in text


def test_decisions_recorded_in_the_second_the_summary_is_asked_are_counted(
    scene: Scene,
) -> None:
    assert scene.shop.now == datetime(2026, 11, 24, 14, 0, tzinfo=UTC)
    scene.shop.order("o-3", 1500, "cy@example.com")
    assert scene.shop.ask_return("o-3", "r-3")["outcome"] == "approve"  # at 14:00:00, now
    client = scene.login(scene.finance)
    page = client.get("/finance/summary").get_data(as_text=True)
    assert DECISIONS.format(3) in page
    bearer = {"Authorization": f"Bearer {scene.finance}"}
    data = scene.shop.app.test_client().get("/api/summary", headers=bearer).get_json()
    assert (data["since"], data["until"]) == ("2026-10-25T14:00:01+00:00",
                                            "2026-11-24T14:00:01+00:00")
    assert [(t["currency"], t["decisions"], t["review_count"], t["review_amount"])
            for t in data["totals"]] == [("EUR", 3, 1, 4000)]


def test_the_decisions_list_keeps_a_typed_time_and_says_an_empty_until_is_now(
    scene: Scene,
) -> None:
    client = scene.login(scene.finance)
    page = client.get("/finance/?since=2026-11-24&until=2026-11-24T12:00:01").get_data(
        as_text=True)
    assert _form_values(page) == {"since": "2026-11-24", "until": "2026-11-24T12:00:01"}
    assert page.count('<td data-label="Amount" class="num">') == 2
    assert "an empty Until means until now, an empty From since the first decision." in page
    plain = client.get("/finance/").get_data(as_text=True)
    assert _form_values(plain) == {"since": "", "until": ""}
