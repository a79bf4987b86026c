"""The summary's chart read on a phone: drawn 360 wide (a 375 px phone's column), so no text is
under 11 px as drawn; a day's label only where it has room; the legend in two columns that stay
inside the chart; the longest amount on the axis inside it too."""

from __future__ import annotations

import re
from datetime import UTC, datetime

from refunds_plugin.finance.summary import Summary, Totals
from webhooks.finance.chart import WIDTH, bars, step


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
    assert ticks[-1][1] == "1,500,000.00"  # the round mark above 1234567.89, grouped
    assert all(int(x) - 7 * len(t) >= 0 for x, t in ticks)  # end-anchored, inside the left


def _sparse(currency: str, **on_days: tuple[int, int]) -> Summary:
    """1 to 6 December (until the 6th's midnight), figures only on the days named (``d01``:
    refunded, credited)."""
    s = Summary(since=datetime(2026, 12, 1, tzinfo=UTC), until=datetime(2026, 12, 6, tzinfo=UTC))
    for name, (refunded, credited) in on_days.items():
        s.days[f"2026-12-{name[1:]}"] = {currency: Totals(currency, refunded=refunded,
                                                          credited=credited)}
    return s


def _ticks(svg: str, kind: str) -> list[str]:
    return re.findall(rf'class="{kind}"[^>]*>([^<]*)<', svg)


def test_every_day_of_the_period_has_its_place_and_the_marks_are_round() -> None:
    # 77.96 refunded on the 1st, 51.97 credited on the 5th: the axis drew 0 .. 77.96 in
    # quarters (19.49, 38.98, 58.47, 77.96) and 12-01 next to 12-05
    svg = str(bars(_sparse("EUR", d01=(7796, 0), d05=(0, 5197)), "EUR"))
    assert re.findall(r'<g class="day" data-day="([^"]+)"', svg) == [
        "2026-12-01", "2026-12-02", "2026-12-03", "2026-12-04", "2026-12-05"]
    assert _ticks(svg, "x-tick") == ["12-01", "12-02", "12-03", "12-04", "12-05"]
    assert _ticks(svg, "y-tick") == ["0.00", "20.00", "40.00", "60.00", "80.00"]
    # the bars stand on the axis that goes to 80.00: 77.96 is 190 * 7796 / 8000 tall
    assert re.findall(r'<rect class="(\w+)" x="[\d.]+" y="[\d.]+" width="[\d.]+" '
                      r'height="([\d.]+)"', svg) == [("refunded", "185.2"), ("credited", "123.4")]
    assert _ticks(svg, "value refunded") == ["77.96"] and _ticks(svg, "value credited") == [
        "51.97"]
    # the empty days are there, and say so; the 3rd's label in the middle of the third of
    # five slots 57.2 wide from 64, 19 under the axis (clear of the 0.00 mark beside it)
    empty = re.search(r'<g class="day" data-day="2026-12-03">(.*?)</g>', svg).group(1)
    assert empty == ('<title>2026-12-03: nothing captured</title><text class="x-tick" x="207.0" '
                     'y="249" font-size="11" text-anchor="middle">12-03</text>')


def test_marks_are_round_in_each_currencys_own_units() -> None:
    kwd = str(bars(_sparse("KWD", d02=(1538535, 0)), "KWD"))  # 1538.535 KWD
    assert _ticks(kwd, "y-tick") == ["0.000", "500.000", "1,000.000", "1,500.000", "2,000.000"]
    jpy = str(bars(_sparse("JPY", d04=(0, 12000)), "JPY"))
    assert _ticks(jpy, "y-tick") == ["0", "5,000", "10,000", "15,000"]
    # nothing to draw: 0 to one unit of the currency, in quarters
    empty = str(bars(_sparse("EUR"), "EUR"))
    assert _ticks(empty, "y-tick") == ["0.00", "0.25", "0.50", "0.75", "1.00"]
    assert len(re.findall(r'<g class="day"', empty)) == 5


def test_the_step_is_one_two_two_and_a_half_or_five_times_a_power_of_ten() -> None:
    assert [step(t) for t in (1, 4, 5, 40, 100, 4000, 7796, 5197, 20005, 123_456_789)] == [
        1, 1, 2, 10, 25, 1000, 2000, 2000, 10000, 50_000_000]


def test_a_period_longer_than_a_year_shows_the_days_with_figures() -> None:
    s = Summary(since=datetime(2020, 1, 1, tzinfo=UTC), until=datetime(2026, 12, 6, tzinfo=UTC))
    s.days = {"2026-12-01": {"EUR": Totals("EUR", refunded=100)}}
    svg = str(bars(s, "EUR"))
    assert re.findall(r'<g class="day" data-day="([^"]+)"', svg) == ["2026-12-01"]


def test_the_last_days_values_end_inside_the_chart() -> None:
    s = Summary(since=datetime(2026, 11, 5, tzinfo=UTC), until=datetime(2026, 12, 5, tzinfo=UTC))
    s.days["2026-12-04"] = {"EUR": Totals("EUR", credited=5197, review_amount=2000)}
    svg = str(bars(s, "EUR"))
    values = re.findall(r'class="value (\w+)" x="([\d.]+)"[^>]*>([^<]*)<', svg)
    assert [(name, words) for name, _, words in values] == [
        ("credited", "51.97"), ("review_amount", "20.00")]
    # about 7 wide a character: centred on their bars they would end at 361.2 and 365.9
    assert [float(x) + 3.5 * len(words) for _, x, words in values] == [359.0, 359.0]


def _value_boxes(svg: str) -> list[tuple[str, float, float, float, float]]:
    """Each written value: its words and its box, about 7 wide a character, 11 high at 11 px."""
    found = re.findall(r'class="value \w+" x="([\d.]+)" y="([\d.]+)"[^>]*>([^<]*)<', svg)
    return [(w, float(x) - 3.5 * len(w), float(y) - 11, float(x) + 3.5 * len(w), float(y))
            for x, y, w in found]


def test_a_days_close_bars_on_a_phone_never_write_two_values_on_top_of_each_other() -> None:
    # the review's day: 400.00 refunded, 108.90 credited, 117.25 dry run, bars 1.5 wide apart
    s = Summary(since=datetime(2026, 11, 6, tzinfo=UTC), until=datetime(2026, 12, 7, tzinfo=UTC))
    s.days["2026-12-06"] = {"EUR": Totals("EUR", refunded=40000, credited=10890, dry_run=11725)}
    svg = str(bars(s, "EUR"))
    assert [w for w, *_ in _value_boxes(svg)] == ["400.00", "117.25"]  # the taller of the two
    assert "<title>2026-12-06 credited: 108.90 EUR</title>" in svg  # the other, in its tooltip


def test_no_two_values_touch_in_a_busy_month() -> None:
    s = Summary(since=datetime(2026, 11, 1, tzinfo=UTC), until=datetime(2026, 12, 1, tzinfo=UTC))
    for d in range(1, 31):
        s.days[f"2026-11-{d:02d}"] = {"EUR": Totals(
            "EUR", refunded=10000 + 137 * d, credited=9000 + 211 * d, dry_run=500 * d,
            kept=3000 + 97 * d, review_amount=7000 - 53 * d)}
    boxes = _value_boxes(str(bars(s, "EUR")))
    assert len(boxes) >= 8  # still a value every few days
    touching = [(a[0], b[0]) for k, a in enumerate(boxes) for b in boxes[k + 1:]
                if a[1] < b[3] and b[1] < a[3] and a[2] < b[4] and b[2] < a[4]]
    assert touching == []
