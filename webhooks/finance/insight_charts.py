"""The insights' charts: server-side SVG drawn by pygal, inlined in the page (no JavaScript).

Every chart names its currency or unit in its title and axes and writes each value on its bar;
the page shows the table behind it right below. pygal's interactive script (tooltips) is left
out of the SVG: the pages work without JavaScript and values are printed anyway. So are its
inline styles, which the CSP refuses; ``static/finance.css`` draws the theme instead.
"""

from __future__ import annotations

import math
import textwrap
from collections.abc import Mapping, Sequence
from typing import Any
from xml.etree import ElementTree

import pygal
from markupsafe import Markup
from pygal.style import Style

from refunds_plugin.language.catalogue import english
from refunds_plugin.money import exponent

STYLE = Style(background="white", plot_background="white", font_family="system-ui, sans-serif",
              colors=("#1f4b99", "#b58105", "#2e8540", "#9b2c2c", "#6b6b6b", "#5b3d99"),
              value_font_size=11, label_font_size=11, title_font_size=14, legend_font_size=11,
              major_label_font_size=11, no_data_font_size=28)


def _svg(chart: pygal.graph.graph.Graph, lines: Mapping[str, list[str]], axis: str) -> Markup:
    """The chart without what the page's Content-Security-Policy (``style-src 'self'``, no
    script) would refuse and log as an error: pygal's script, its ``<style>`` (the same theme is
    in ``static/finance.css``) and the script-only tooltip, hidden by ``style="opacity: 0"``;
    each bar's label drawn on its ``lines``, the value axis's marks as many as fit. What the
    labels are (``axis``) is said to a screen reader, not drawn: a phone's width is the bars'."""
    tree = _rendered(chart)
    for group in tree.iter():
        kind = group.get("class", "").split()
        if "axis" in kind and "y" in kind:
            for text in group.iter():
                if str(text.tag).endswith("text") and len(lines.get(text.text or "", [])) > 1:
                    _on_lines(text, lines[text.text or ""])
        if "axis" in kind and "x" in kind:
            _thin(group)
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
    tree.set("aria-label", f"{chart.config.title}, by {axis}")
    return Markup(ElementTree.tostring(tree, encoding="unicode"))  # noqa: S704 (our SVG)


def _rendered(chart: pygal.graph.graph.Graph) -> ElementTree.Element:
    """pygal's tree, its value axis stretched if need be so that each value written after its
    bar ends inside the chart: the longest bar drawn shorter rather than its value cut off."""
    tree = chart.render_tree()
    plot = next(e for e in tree.iter() if e.get("class") == "plot")
    width = float(plot[0].get("width", "0"))  # the plot's background
    need = max((float(t.get("x", "0")) / max(width - len(t.text or "") * CHAR - 4, width / 4)
                for t in tree.iter()
                if str(t.tag).endswith("text") and t.get("class") == "value"), default=0)
    if need > 1:
        chart.range = (0, chart.range[1] * need)
        tree = chart.render_tree()
    return tree


def _thin(axis: ElementTree.Element) -> None:
    """The value axis's numbers, one in every so many when side by side they would touch; the
    first and the last always (each mark's line stays)."""
    marks = [(guide, text) for guide in axis for text in guide if str(text.tag).endswith("text")]
    if len(marks) < 2:
        return
    last = len(marks) - 1
    gap = (float(marks[-1][1].get("x", "0")) - float(marks[0][1].get("x", "0"))) / last
    wide = max(len(text.text or "") for _, text in marks) * CHAR + 6
    every = next(k for k in range(1, last + 1) if last % k == 0 and k * gap >= wide or k == last)
    for k, (guide, text) in enumerate(marks):
        if k % every:
            guide.remove(text)


def _on_lines(text: ElementTree.Element, lines: list[str]) -> None:
    """A label's text as one <tspan> per line, centred on where its one line was."""
    text.text = None
    for k, line in enumerate(lines):
        tspan = ElementTree.SubElement(text, str(text.tag)[:-len("text")] + "tspan")
        tspan.set("x", text.get("x", "0"))
        tspan.set("dy", f"{-(len(lines) - 1) * 0.55:g}em" if k == 0 else "1.1em")
        tspan.text = line


def _wrap(labels: Sequence[str]) -> tuple[list[str], dict[str, list[str]]]:
    """Each bar's label on at most three lines of LABEL characters (the table below the chart
    has it whole): what pygal is given (the longest line, so it leaves the labels room for
    that) and the lines each stands for."""
    shown: list[str] = []
    lines: dict[str, list[str]] = {}
    for label in labels:
        wrapped = textwrap.wrap(label, LABEL) or [label]
        if len(wrapped) > 3:
            wrapped = [*wrapped[:2], textwrap.shorten(" ".join(wrapped[2:]), LABEL,
                                                      placeholder=" …")]
        key = max(wrapped, key=len)
        if key in lines or key in labels and key != label:
            key = label  # two labels alike on their longest line: this one drawn whole
        shown.append(key)
        lines[key] = wrapped if key != label else [label]
    return shown, lines


# characters of a label's line at 11 px: the rest of the chart's width is the bars'; and how
# wide a value's character is at 11 px (a little more than pygal reckons: digits)
LABEL, CHAR = 18, 11 * 0.65
# drawn about as wide as a phone's column (355 px on a 375 px screen) and scaled to it, so its
# 11 px text is still 10.8 px there (drawn 480 wide it was 8 px, 640 wide 6 px); at most 540 px
# on a desk (static/finance.css)
WIDTH = 360


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


def _base(kind: type[pygal.graph.graph.Graph], title: str, unit: str,
          labels: Sequence[str], formatter: object, series: int, top: float,
          whole: bool = False, room: float = 1.25, axis_unit: str = ""
          ) -> tuple[pygal.graph.graph.Graph, dict[str, list[str]]]:
    # horizontal bars: the values run along the bottom axis, the labels down the side; each
    # label gets a bar per series tall enough for its value's text, and room for its lines
    chart = kind(style=STYLE, js=[], disable_xml_declaration=True, print_values=True,
                 title=title, x_title=unit, width=WIDTH,
                 height=max(220, 150 + max(10 + 16 * series, 44) * len(labels)),
                 explicit_size=False, value_formatter=formatter, print_values_position="top",
                 legend_at_bottom=True, truncate_label=22, show_y_guides=True,
                 legend_at_bottom_columns=1, truncate_legend=-1,  # stacked: none overlaps
                 show_legend=series > 1, margin_right=16)
    chart.x_labels, lines = _wrap(labels)
    marks = ticks(top, whole)
    # the axis's numbers short ("25 %", "150"), its title names the unit; values in full
    chart.y_labels = [{"value": m, "label": f"{m:g}{axis_unit}"} for m in marks]
    # past the last mark, room for the value written after the longest bar (``room`` times)
    chart.range = (0, marks[-1] * room)
    return chart, lines


def _top(series: Sequence[tuple[str, Sequence[float | None]]]) -> float:
    return max((v for _, values in series for v in values if v is not None), default=0)


def money_bars(title: str, currency: str, labels: Sequence[str],
               series: Sequence[tuple[str, Sequence[int]]], axis: str) -> Markup:
    """Horizontal bars of amounts in ``currency`` (minor units in, major units drawn)."""
    def fmt(value: float) -> str:
        return english(round(value * 10 ** exponent(currency)), currency, code=False)

    drawn = [(name, [v / 10 ** exponent(currency) for v in values]) for name, values in series]
    chart, lines = _base(pygal.HorizontalBar, f"{title} ({currency})", f"amount in {currency}",
                  labels, fmt, len(series), _top(drawn))
    for name, values in drawn:
        chart.add(name, values)
    return _svg(chart, lines, axis)


def share_bars(title: str, labels: Sequence[str],
               series: Sequence[tuple[str, Sequence[tuple[int | None, int, int]]]],
               axis: str) -> Markup:
    """Horizontal bars of shares, each given as (basis points, part, whole) and drawn as
    percent, its value written with the count behind it: "33.33 % (1 of 3)"."""
    drawn = [(name, [None if bp is None else bp / 100 for bp, _, _ in values])
             for name, values in series]
    chart, lines = _base(pygal.HorizontalBar, title, "percent", labels,
                  lambda v: f"{v:.2f} %", len(series), _top(drawn), room=1.6,
                  axis_unit=" %")
    for (name, values), (_, shares) in zip(series, drawn, strict=True):
        chart.add(name, [None if share is None else _value(share, f"{share:.2f} % ({part} of "
                                                                  f"{whole})")
                         for share, (_, part, whole) in zip(shares, values, strict=True)])
    return _svg(chart, lines, axis)


def _value(value: float, words: str) -> dict[str, Any]:
    return {"value": value, "formatter": lambda _v: words}


def count_bars(title: str, labels: Sequence[str], series: Sequence[tuple[str, Sequence[int]]],
               axis: str, unit: str) -> Markup:
    """Horizontal bars of counts (units, answers)."""
    chart, lines = _base(pygal.HorizontalBar, title, unit, labels, lambda v: f"{v:.0f}",
                  len(series), _top(series), whole=True)
    for name, values in series:
        chart.add(name, list(values))
    return _svg(chart, lines, axis)
