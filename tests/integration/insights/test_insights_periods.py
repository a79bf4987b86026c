"""The period a user sees is the period they keep: the forms hold what was asked (an empty Until
is "now", said in the hint), so Show or Compare pressed again unchanged, or a link from the page,
shows the same decisions; every share comes with its n; the command line states each period with
its time, or "now", and its help says how far back each command looks."""

from __future__ import annotations

import html as html_mod
import io
import re
from typing import Any

from click.testing import CliRunner

from refunds_plugin.cli import main
from refunds_plugin.finance.tokens import create_token
from tests.fakes import Harness
from tests.fakes.finance_scene import csrf
from tests.fakes.insights_history import History
from tests.integration.insights.test_insights_compare import CANDIDATE

NOTHING = "Nothing sold or returned in this period."


def _login(h: Harness) -> Any:
    token = create_token(h.runtime.engine, "Fin", "finance", h.clock()).secret
    client = h.client()
    login = client.post("/finance/login", data={"token": token,
                                                "csrf_token": csrf(client, "/finance/login")})
    assert login.status_code == 303
    return client


def _row(html: str, key: str) -> str:
    found = re.search(rf'<tr><td data-label="Sku">{key} .*?</tr>', html, re.S)
    assert found, html
    return found.group(0)


def _form_values(html: str) -> dict[str, str]:
    """What the page's period form sends when pressed unchanged."""
    return {name: html_mod.unescape(value) for name, value in re.findall(
        r'<input type="(?:date|text)" name="(since|until)" value="([^"]*)"', html)}


def test_the_one_click_link_and_show_pressed_again_keep_the_period_the_page_showed(
    shop: tuple[Harness, History],
) -> None:
    h, _ = shop
    h.clock.advance(3600)  # 13:00 on the day of the returns, decided at 12:00
    client = _login(h)
    page = client.get("/finance/insights/reasons?since=2026-05-01").get_data(as_text=True)
    assert "0.00 % (0 of 1)" in _row(page, "SHIRT")  # the rate before with its n: dan's shirt
    assert ('<p class="hint" id="period-shown">From 2026-05-01 00:00 UTC until 2026-06-01 '
            "13:00 UTC (now).</p>") in page
    assert "an empty Until means now, an empty From 30 days before Until." in page
    assert _form_values(page) == {"since": "2026-05-01", "until": ""}
    link = re.search(r'<a href="([^"]*)">Which products come back as “not as described”</a>',
                     page)
    assert link and html_mod.unescape(link.group(1)) == (
        "/finance/insights/reasons?reason=not_as_described&by=sku&since=2026-05-01")
    followed = client.get(html_mod.unescape(link.group(1))).get_data(as_text=True)
    assert NOTHING not in followed
    assert '<td data-label="Return rate" class="num">66.67 %</td>' in _row(followed, "SHIRT")
    again = client.get("/finance/insights/reasons", query_string=_form_values(page))
    assert _row(again.get_data(as_text=True), "SHIRT") == _row(page, "SHIRT")
    # what the link carried before, Until = today's midnight, lost today's returns
    dropped = client.get("/finance/insights/reasons?reason=not_as_described&since=2026-05-01"
                         "&until=2026-06-01").get_data(as_text=True)
    assert NOTHING in dropped

    # a bound with a time stays as it was typed (a date field would have emptied it)
    timed = client.get("/finance/insights/costs?since=2026-05-01&until=2026-06-01T12:30")
    text = timed.get_data(as_text=True)
    assert _form_values(text) == {"since": "2026-05-01", "until": "2026-06-01T12:30"}
    assert "From 2026-05-01 00:00 UTC until 2026-06-01 12:30 UTC.</p>" in text


def test_compare_pressed_again_unchanged_compares_the_same_decisions(
    shop: tuple[Harness, History],
) -> None:
    h, _ = shop
    h.clock.advance(3600)
    client = _login(h)
    empty = client.get("/finance/insights/compare").get_data(as_text=True)
    assert ("an empty Until means now, an empty From 90 days before Until. (<code>refunds "
            "policy compare</code> replays every stored decision unless given <code>--since"
            "</code>.)") in empty
    form = {"csrf_token": csrf(client, "/finance/insights/compare"), "preset": "credit-first"}
    first = client.post("/finance/insights/compare", data={**form, "since": "2026-05-01"})
    html = first.get_data(as_text=True)
    assert first.status_code == 200, html
    assert "4 decision(s) compared" in html
    assert ('<p id="period-shown">Return decisions from 2026-05-01 00:00 UTC until 2026-06-01 '
            "13:00 UTC (now).</p>") in html
    assert _form_values(html) == {"since": "2026-05-01", "until": ""}
    again = client.post("/finance/insights/compare", data={**form, **_form_values(html)})
    assert "4 decision(s) compared" in again.get_data(as_text=True)

    # an uploaded file is compared again too (the file field cannot keep it; the page does)
    uploaded = client.post("/finance/insights/compare", data={
        "csrf_token": form["csrf_token"], "since": "2026-05-01",
        "file": (io.BytesIO(CANDIDATE.encode()), "strict.yaml")},
        content_type="multipart/form-data").get_data(as_text=True)
    assert "4 decision(s) compared, 4 answered differently, 3 worse" in uploaded
    assert "Compare again uses the policy file uploaded before (strict-test (" in uploaded
    kept = re.search(r'<input type="hidden" name="policy_text" value="([^"]*)">', uploaded)
    assert kept and html_mod.unescape(kept.group(1)) == CANDIDATE
    resent = {"csrf_token": form["csrf_token"], "preset": "", "policy_text": CANDIDATE,
              **_form_values(uploaded)}
    again = client.post("/finance/insights/compare", data=resent).get_data(as_text=True)
    assert "4 decision(s) compared, 4 answered differently, 3 worse" in again
    # a preset picked now wins over the file uploaded before
    picked = client.post("/finance/insights/compare", data={**resent, "preset": "credit-first"})
    assert "credit-first (" in picked.get_data(as_text=True)
    assert "strict-test (" not in picked.get_data(as_text=True)


def cli(h: Harness, *args: str) -> Any:
    return CliRunner().invoke(main, list(args), env={"REFUNDS_DATABASE_URL": h.db_url})


def test_the_command_line_states_each_period_with_its_time_or_now(
    shop: tuple[Harness, History],
) -> None:
    h, _ = shop
    timed = cli(h, "insights", "reasons", "--since", "2026-05-01", "--until", "2026-06-15T12:30")
    assert timed.exit_code == 0, timed.output
    lines = timed.output.splitlines()
    assert lines[0] == "Returns by sku, 2026-05-01 to 2026-06-15 12:30 UTC"
    assert lines[1].split()[5:7] == ["RATE", "BEFORE"]
    shirt = next(line for line in lines if line.startswith("SHIRT"))
    assert shirt.split()[4:9] == ["66.67", "%", "0.00", "%", "(0"]
    assert "0.00 % (0 of 1)" in shirt
    dated = cli(h, "insights", "costs", "--since", "2026-05-01", "--until", "2026-06-15")
    assert dated.output.splitlines()[0] == "Cost of returns, 2026-05-01 to 2026-06-15"
    for name, first in (("retention", "Who came back, returns and first orders 2026-05-01"),
                        ("feedback", "Feedback on decisions 2026-05-01")):
        out = cli(h, "insights", name, "--since", "2026-05-01")
        assert out.exit_code == 0, out.output
        assert re.fullmatch(rf"{first} to now \(\d{{4}}-\d\d-\d\d \d\d:\d\d(:\d\d)? UTC\)"
                            r"(: \d+ answer\(s\))?", out.output.splitlines()[0]), out.output


def _help(*args: str) -> str:
    out = CliRunner().invoke(main, [*args, "--help"])
    assert out.exit_code == 0, out.output
    return " ".join(out.output.split())


def test_each_commands_help_says_how_far_back_it_looks() -> None:
    for name, days in (("reasons", 30), ("costs", 30), ("retention", 365), ("feedback", 90)):
        assert (f"--since DATE ISO date or datetime, inclusive (default: {days} days before "
                "--until). --until DATE ISO date or datetime, exclusive (default: now).") in (
            _help("insights", name)), name
    words = _help("policy", "compare")
    assert ("--since DATE ISO date or datetime, inclusive (default: every stored decision; "
            "the finance page and /api/insights/compare default to 90 days).") in words
    assert "Without --since every stored decision is replayed (as `policy simulate` does)" in (
        words)
