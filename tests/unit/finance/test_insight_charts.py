"""The insights' charts read on a phone: round numbers on the value axis (whole ones for
counts), each share written with the count behind it, values written from the bar's end."""

from __future__ import annotations

import re

from webhooks.finance.insight_charts import count_bars, money_bars, share_bars, ticks


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
