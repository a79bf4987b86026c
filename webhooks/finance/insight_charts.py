"""The insights' charts: server-side SVG drawn by pygal, inlined in the page (no JavaScript).

Every chart names its currency or unit in its title and axes and writes each value on its bar;
the page shows the table behind it right below. pygal's interactive script (tooltips) is left
out of the SVG: the pages work without JavaScript and values are printed anyway. So are its
inline styles, which the CSP refuses; ``static/finance.css`` draws the theme instead.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any
from xml.etree import ElementTree

import pygal
from markupsafe import Markup
from pygal.style import Style

from refunds_plugin.money import Money, exponent

STYLE = Style(background="white", plot_background="white", font_family="system-ui, sans-serif",
              colors=("#1f4b99", "#b58105", "#2e8540", "#9b2c2c", "#6b6b6b", "#5b3d99"),
              value_font_size=11, label_font_size=11, title_font_size=14, legend_font_size=11)


def _svg(chart: pygal.graph.graph.Graph) -> Markup:
    """The chart without what the page's Content-Security-Policy (``style-src 'self'``, no
    script) would refuse and log as an error: pygal's script, its ``<style>`` (the same theme is
    in ``static/finance.css``) and the script-only tooltip, hidden by ``style="opacity: 0"``."""
    tree = chart.render_tree()
    for parent in tree.iter():
        for child in list(parent):
            tag = str(child.tag).rsplit("}", 1)[-1]
            if tag in ("script", "style") or "tooltip-overlay" in child.get("class", "").split():
                parent.remove(child)
    for element in tree.iter():
        element.attrib.pop("style", None)
        if str(element.tag).endswith("text") and element.get("class") == "value":
            # written from the bar's end on, not centred on it: a short bar's value stays
            # clear of the labels on the left
            element.set("text-anchor", "start")
    tree.set("class", f"{tree.get('class', '')} insight-chart".strip())
    tree.set("role", "img")
    return Markup(ElementTree.tostring(tree, encoding="unicode"))  # noqa: S704 (our SVG)


# drawn this wide and scaled to the column: on a 375 px phone its 11 px text is still about
# 8 px (drawn 640 wide it was 6 px, the axis numbers ran together); at most 760 px on a desk
WIDTH = 480


def ticks(top: float, whole: bool = False) -> list[float]:
    """At most five round values from 0 to at least ``top`` for the value axis: steps of 1, 2,
    2.5 or 5 times a power of ten; whole numbers only for counts (no "0 0 1 1 1" of rounded
    quarters)."""
    if top <= 0:
        return [0, 1]
    raw = top / 4
    power = 10 ** math.floor(math.log10(raw))
    step = next(m * power for m in (1, 2, 2.5, 5, 10) if m * power >= raw)
    if whole:
        step = max(1, math.ceil(step))
    return [round(i * step, 10) for i in range(math.ceil(top / step - 1e-9) + 1)]


def _base(kind: type[pygal.graph.graph.Graph], title: str, x_title: str, y_title: str,
          labels: Sequence[str], formatter: object, series: int, top: float,
          whole: bool = False, room: float = 1.25, axis_unit: str = ""
          ) -> pygal.graph.graph.Graph:
    # horizontal bars: the values run along the bottom axis, the labels down the side; each
    # label gets a bar per series tall enough for its value's text
    chart = kind(style=STYLE, js=[], disable_xml_declaration=True, print_values=True,
                 title=title, x_title=y_title, y_title=x_title, width=WIDTH,
                 height=max(220, 150 + (10 + 16 * series) * len(labels)),
                 explicit_size=False, value_formatter=formatter, print_values_position="top",
                 legend_at_bottom=True, truncate_label=22, show_y_guides=True,
                 legend_at_bottom_columns=min(series, 3), truncate_legend=-1,
                 show_legend=series > 1, margin_right=16)
    chart.x_labels = list(labels)
    marks = ticks(top, whole)
    # the axis's numbers short ("25 %", "150"), its title names the unit; values in full
    chart.y_labels = [{"value": m, "label": f"{m:g}{axis_unit}"} for m in marks]
    # past the last mark, room for the value written after the longest bar (``room`` times)
    chart.range = (0, marks[-1] * room)
    return chart


def _top(series: Sequence[tuple[str, Sequence[float | None]]]) -> float:
    return max((v for _, values in series for v in values if v is not None), default=0)


def money_bars(title: str, currency: str, labels: Sequence[str],
               series: Sequence[tuple[str, Sequence[int]]], axis: str) -> Markup:
    """Horizontal bars of amounts in ``currency`` (minor units in, major units drawn)."""
    def fmt(value: float) -> str:
        return Money(round(value * 10 ** exponent(currency)), currency).decimal_string()

    drawn = [(name, [v / 10 ** exponent(currency) for v in values]) for name, values in series]
    chart = _base(pygal.HorizontalBar, f"{title} ({currency})", axis, f"amount in {currency}",
                  labels, fmt, len(series), _top(drawn))
    for name, values in drawn:
        chart.add(name, values)
    return _svg(chart)


def share_bars(title: str, labels: Sequence[str],
               series: Sequence[tuple[str, Sequence[tuple[int | None, int, int]]]],
               axis: str) -> Markup:
    """Horizontal bars of shares, each given as (basis points, part, whole) and drawn as
    percent, its value written with the count behind it: "33.33 % (1 of 3)"."""
    drawn = [(name, [None if bp is None else bp / 100 for bp, _, _ in values])
             for name, values in series]
    chart = _base(pygal.HorizontalBar, title, axis, "percent", labels,
                  lambda v: f"{v:.2f} %", len(series), _top(drawn), room=1.6,
                  axis_unit=" %")
    for (name, values), (_, shares) in zip(series, drawn, strict=True):
        chart.add(name, [None if share is None else _value(share, f"{share:.2f} % ({part} of "
                                                                  f"{whole})")
                         for share, (_, part, whole) in zip(shares, values, strict=True)])
    return _svg(chart)


def _value(value: float, words: str) -> dict[str, Any]:
    return {"value": value, "formatter": lambda _v: words}


def count_bars(title: str, labels: Sequence[str], series: Sequence[tuple[str, Sequence[int]]],
               axis: str, unit: str) -> Markup:
    """Horizontal bars of counts (units, answers)."""
    chart = _base(pygal.HorizontalBar, title, axis, unit, labels, lambda v: f"{v:.0f}",
                  len(series), _top(series), whole=True)
    for name, values in series:
        chart.add(name, list(values))
    return _svg(chart)
