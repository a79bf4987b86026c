"""The insights' charts read on a phone: round numbers on the value axis (whole ones for
counts), each share written with the count behind it, values written from the bar's end."""

from __future__ import annotations

import re

from webhooks.finance.insight_charts import (
    CHAR,
    STYLE,
    WIDTH,
    count_bars,
    money_bars,
    share_bars,
    ticks,
)


def _texts(svg: str, cls: str) -> list[str]:
    return re.findall(rf'<text[^>]*class="{cls}"[^>]*>([^<]*)</text>', svg)


def test_the_value_axis_has_at_most_five_round_marks() -> None:
    assert ticks(169.5) == [0, 50, 100, 150, 200]
    assert ticks(100) == [0, 25, 50, 75, 100]
    assert ticks(0.3) == [0, 0.1, 0.2, 0.3]
    assert ticks(3, whole=True) == [0, 1, 2, 3]
    assert ticks(0.5, whole=True) == [0, 1]  # never "0 0 1 1" of rounded quarters
    assert ticks(0) == [0, 1]


def test_a_count_chart_marks_whole_answers_only() -> None:
    svg = str(count_bars("Answers by rating", [f"{s} of 5" for s in range(1, 6)],
                         [("answers", [0, 1, 0, 2, 3])], "rating", "answers"))
    assert _texts(svg, "value") == ["0", "1", "0", "2", "3"]
    # the value axis (pygal's "x" when the bars lie down) up to the first series
    axis = svg[svg.index('<g class="axis x always_show">'):svg.index('<g class="series')]
    assert re.findall(r"<text[^>]*>([^<]*)</text>", axis) == ["0", "1", "2", "3"]


def test_each_share_is_written_with_its_count_from_the_end_of_its_bar() -> None:
    svg = str(share_bars("Bought again", ["refund", "declined", "exchanged"],
                         [("within 30 days", [(3333, 1, 3), (10000, 2, 2), (None, 0, 0)])],
                         "return ended"))
    assert _texts(svg, "value") == ["33.33 % (1 of 3)", "100.00 % (2 of 2)"]
    assert all('text-anchor="start"' in t
               for t in re.findall(r'<text[^>]*class="value"[^>]*>', svg))


def test_money_is_written_in_full_and_the_axis_short() -> None:
    svg = str(money_bars("Cost of returns", "USD", ["refunded", "fees collected"],
                         [("amount", [16950, 500])], "what"))
    assert _texts(svg, "value") == ["169.50", "5.00"]
    assert "amount in USD" in svg and "Cost of returns (USD)" in svg


# on a 375 px phone the chart is scaled into a column about 355 px wide (static/finance.css)
COLUMN = 355


def _view_width(svg: str) -> float:
    match = re.search(r'<svg[^>]*viewBox="0 0 ([\d.]+) [\d.]+"', svg)
    assert match, svg[:200]
    return float(match.group(1))


def test_drawn_as_wide_as_a_phone_so_its_smallest_text_stays_ten_px() -> None:
    svg = str(share_bars("Bought again", ["refund", "declined"],
                         [("within 30 days", [(3333, 1, 3), (None, 0, 0)])], "return ended"))
    width = _view_width(svg)
    assert width == WIDTH == 360
    assert 'width="' not in svg[:svg.index(">")]  # no fixed size: it takes its column's
    assert STYLE.label_font_size * COLUMN / width >= 10
    assert min(STYLE.value_font_size, STYLE.legend_font_size, STYLE.major_label_font_size,
               STYLE.label_font_size) == 11


def test_a_long_label_is_drawn_on_lines_and_the_legend_stacked() -> None:
    svg = str(share_bars("Bought again, by how the return ended",
                         ["store credit decided: dry run (no money moved)", "declined"],
                         [(w, [(10000, 1, 1), (None, 0, 0)])
                          for w in ("within 30 days", "within 90 days", "within 180 days")],
                         "return ended"))
    assert re.findall(r"<tspan[^>]*>([^<]*)</tspan>", svg) == [
        "store credit", "decided: dry run", "(no money moved)"]
    assert 'aria-label="Bought again, by how the return ended, by return ended"' in svg
    legend = re.findall(r'<rect x="([\d.]+)" y="([\d.]+)"[^>]*class="color-\d reactive"', svg)
    assert legend == [("0.0", "0.0"), ("0.0", "18.0"), ("0.0", "36.0")]  # one under another
    assert re.findall(r'<text[^>]*>([^<]*)</text>', svg[svg.index('class="legends"'):]) == [
        "within 30 days", "within 90 days", "within 180 days"]


def test_each_value_ends_inside_the_chart_and_the_axis_numbers_do_not_touch() -> None:
    svg = str(share_bars("Bought again", ["exchanged", "declined"],
                         [("within 30 days", [(10000, 2, 2), (5000, 1, 2)])], "return ended"))
    plot = float(re.search(r'class="plot"><rect x="0" y="0" width="([\d.]+)"', svg).group(1))
    values = re.findall(r'<text text-anchor="start" x="([\d.]+)"[^>]*class="value">([^<]*)<',
                        svg)
    assert [v for _, v in values] == ["100.00 % (2 of 2)", "50.00 % (1 of 2)"]
    assert all(float(x) + len(v) * CHAR <= plot for x, v in values)
    axis = svg[svg.index('<g class="axis x always_show">'):svg.index('<g class="series')]
    marks = re.findall(r'<text x="([\d.]+)"[^>]*>([^<]*)</text>', axis)
    assert [m for _, m in marks] == ["0 %", "50 %", "100 %"]  # of five marks, each still lined
    assert axis.count("<path") == 5
    xs = [float(x) for x, _ in marks]
    assert min(b - a for a, b in zip(xs, xs[1:], strict=False)) >= len("100 %") * CHAR


def test_no_data_is_written_small_enough_to_fit() -> None:
    svg = str(share_bars("Bought again", ["refund", "declined"],
                         [("within 30 days", [(None, 0, 0), (None, 0, 0)])], "return ended"))
    assert re.findall(r'<text[^>]*class="no_data">([^<]*)</text>', svg) == ["No data"]
    # "No data" is 7 characters of about 0.6 em at 28 px: under half the 360 drawn
    assert STYLE.no_data_font_size == 28 and WIDTH / 2 > 7 * 0.6 * 28
