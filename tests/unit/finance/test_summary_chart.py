"""The summary's chart read on a phone: drawn 360 wide (a 375 px phone's column), so no text is
under 11 px as drawn; a day's label only where it has room; the legend in two columns that stay
inside the chart; the longest amount on the axis inside it too."""

from __future__ import annotations

import re

from refunds_plugin.finance.summary import Summary, Totals
from webhooks.finance.chart import WIDTH, bars


def _summary(days: int, refunded: int) -> Summary:
    s = Summary(since=None, until=None)
    for d in range(1, days + 1):
        s.days[f"2026-11-{d:02d}"] = {"EUR": Totals("EUR", sales=refunded * 2,
                                                    refunded=refunded if d == 1 else 0)}
    return s


def test_drawn_as_wide_as_a_phone_with_no_text_under_eleven_px() -> None:
    svg = str(bars(_summary(3, 4000), "EUR"))
    assert re.search(r'viewBox="0 0 (\d+) \d+" width="100%"', svg).group(1) == str(WIDTH)
    assert WIDTH == 360
    sizes = {int(s) for s in re.findall(r'font-size="(\d+)"', svg)}
    assert min(sizes) == 11 and 11 * 355 / WIDTH >= 10  # 10.8 px in a 355 px column
    assert re.findall(r'class="value refunded"[^>]*>([^<]*)<', svg) == ["40.00"]
    assert re.findall(r'class="x-tick"[^>]*>([^<]*)<', svg) == ["11-01", "11-02", "11-03"]


def test_a_month_labels_every_few_days_so_the_labels_do_not_touch() -> None:
    svg = str(bars(_summary(30, 4000), "EUR"))
    xs = [float(x) for x in re.findall(r'class="x-tick" x="([\d.]+)"', svg)]
    assert len(xs) == 8  # 30 days, one labelled in every four
    assert min(b - a for a, b in zip(xs, xs[1:], strict=False)) >= 36


def test_the_legend_and_a_long_amount_stay_inside() -> None:
    svg = str(bars(_summary(2, 123_456_789), "EUR"))
    legend = svg[svg.index('<g class="legend">'):]
    entries = re.findall(r'<text x="(\d+)" y="(\d+)" font-size="11">([^<]*)<', legend)
    assert [(int(x), int(y)) for x, y, _ in entries] == [
        (24, 279), (199, 279), (24, 295), (199, 295), (24, 311)]  # two columns, three rows
    # each entry, at 11 px about 7 wide a character, ends inside the chart
    assert all(int(x) + 7 * len(words) <= WIDTH for x, _, words in entries)
    ticks = re.findall(r'class="y-tick" x="(\d+)"[^>]*>([^<]*)<', svg)
    assert ticks[-1][1] == "1,234,567.89"  # grouped, as a person reads it
    assert all(int(x) - 7 * len(t) >= 0 for x, t in ticks)  # end-anchored, inside the left
