"""The insights' charts: server-side SVG drawn by pygal, inlined in the page (no JavaScript).

Every chart names its currency or unit in its title and axes and writes each value on its bar;
the page shows the table behind it right below. pygal's interactive script (tooltips) is left
out of the SVG: the pages work without JavaScript and values are printed anyway. So are its
inline styles, which the CSP refuses; ``static/finance.css`` draws the theme instead.
"""

from __future__ import annotations

from collections.abc import Sequence
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
    tree.set("class", f"{tree.get('class', '')} insight-chart".strip())
    tree.set("role", "img")
    return Markup(ElementTree.tostring(tree, encoding="unicode"))  # noqa: S704 (our SVG)


def _base(kind: type[pygal.graph.graph.Graph], title: str, x_title: str, y_title: str,
          labels: Sequence[str], formatter: object) -> pygal.graph.graph.Graph:
    # horizontal bars: the values run along the bottom axis, the labels down the side
    chart = kind(style=STYLE, js=[], disable_xml_declaration=True, print_values=True,
                 title=title, x_title=y_title, y_title=x_title, width=640,
                 height=max(220, 60 + 34 * len(labels)), explicit_size=False,
                 value_formatter=formatter, legend_at_bottom=True, truncate_label=28,
                 show_y_guides=True)
    chart.x_labels = list(labels)
    return chart


def money_bars(title: str, currency: str, labels: Sequence[str],
               series: Sequence[tuple[str, Sequence[int]]], axis: str) -> Markup:
    """Horizontal bars of amounts in ``currency`` (minor units in, major units drawn)."""
    def fmt(value: float) -> str:
        return Money(round(value * 10 ** exponent(currency)), currency).decimal_string()

    chart = _base(pygal.HorizontalBar, f"{title} ({currency})", axis, f"amount in {currency}",
                  labels, fmt)
    for name, values in series:
        chart.add(name, [v / 10 ** exponent(currency) for v in values])
    return _svg(chart)


def share_bars(title: str, labels: Sequence[str],
               series: Sequence[tuple[str, Sequence[int | None]]], axis: str) -> Markup:
    """Horizontal bars of shares given in basis points, drawn as percent."""
    chart = _base(pygal.HorizontalBar, title, axis, "percent", labels,
                  lambda v: f"{v:.2f} %")
    for name, values in series:
        chart.add(name, [None if v is None else v / 100 for v in values])
    return _svg(chart)


def count_bars(title: str, labels: Sequence[str], series: Sequence[tuple[str, Sequence[int]]],
               axis: str, unit: str) -> Markup:
    """Horizontal bars of counts (units, answers)."""
    chart = _base(pygal.HorizontalBar, title, axis, unit, labels, lambda v: f"{v:.0f}")
    for name, values in series:
        chart.add(name, list(values))
    return _svg(chart)
