"""The summary's chart on a 390 px phone, measured by Chromium: no two of its texts (the bars'
values, the axes, the title, the legend) overlap, for the day finance found two values drawn on
top of each other (117.25 and 108.90 EUR on bars a pixel or two apart)."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from refunds_plugin.finance.summary import Summary, Totals
from webhooks.finance.chart import bars

CSS = Path(__file__).parents[3] / "webhooks" / "static" / "finance.css"

OVERLAPS = """() => {
  const texts = [...document.querySelectorAll("svg.chart text")];
  const found = [];
  texts.forEach((a, j) => texts.slice(j + 1).forEach(b => {
    const p = a.getBoundingClientRect(), q = b.getBoundingClientRect();
    if (p.left < q.right && q.left < p.right && p.top < q.bottom && q.top < p.bottom)
      found.push(`"${a.textContent}" overlaps "${b.textContent}"`);
  }));
  return found;
}"""


def test_no_two_texts_of_the_chart_overlap_on_a_390_px_phone(chromium: Any) -> None:
    s = Summary(since=datetime(2026, 11, 6, tzinfo=UTC), until=datetime(2026, 12, 7, tzinfo=UTC))
    s.days["2026-12-06"] = {"EUR": Totals("EUR", refunded=40000, credited=10890, dry_run=11725)}
    s.days["2026-12-05"] = {"EUR": Totals("EUR", refunded=9900, kept=8480)}
    html = (f'<!doctype html><meta name="viewport" content="width=device-width,initial-scale=1">'
            f"<style>{CSS.read_text(encoding='utf-8')}</style>"
            f"<main><figure>{bars(s, 'EUR')}</figure></main>")
    context = chromium.new_context(viewport={"width": 390, "height": 844})
    try:
        page = context.new_page()
        page.set_content(html)
        assert page.eval_on_selector("svg.chart", "s => s.getBoundingClientRect().width") <= 390
        assert page.evaluate(OVERLAPS) == []
        # the taller bars' values; 108.90 and 99.00, next to them, in their bars' tooltips
        assert page.eval_on_selector_all("svg.chart text.value", "ts => ts.map(t => "
                                         "t.textContent)") == ["84.80", "400.00", "117.25"]
    finally:
        context.close()
