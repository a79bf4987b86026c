"""Charts for the finance summary as inline SVG, drawn on the server: no JavaScript, no library.

One group of bars per day (refunded, credited, kept, sent to review) in one currency, scaled to
the largest value, with the day's refund rate against sales in each group's tooltip.
"""

from __future__ import annotations

from markupsafe import Markup, escape

from refunds_plugin.finance.summary import Summary
from refunds_plugin.money import Money

SERIES = (
    ("refunded", "#1f4b99"),
    ("credited", "#2e8540"),
    ("kept", "#b58105"),
    ("review_amount", "#9b2c2c"),
)
WIDTH, HEIGHT, PAD = 720, 240, 30


def bars(summary: Summary, currency: str) -> Markup:
    days = sorted(summary.days)
    values = [
        [getattr(summary.days[d].get(currency), name, 0) or 0 for name, _ in SERIES] for d in days
    ]
    top = max((v for day in values for v in day), default=0) or 1
    slot = (WIDTH - 2 * PAD) / max(1, len(days))
    bar = max(1.0, slot / (len(SERIES) + 1))
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" role="img" class="chart" '
        f'viewBox="0 0 {WIDTH} {HEIGHT + 40}" width="100%" '
        f'aria-label="Money per day in {escape(currency)}">',
        f"<title>Refunded, credited, kept and sent to review per day, {escape(currency)}</title>",
        f'<line x1="{PAD}" y1="{HEIGHT}" x2="{WIDTH - PAD}" y2="{HEIGHT}" stroke="#555"/>',
    ]
    for i, (day, row) in enumerate(zip(days, values, strict=True)):
        x0 = PAD + i * slot
        totals = summary.days[day].get(currency)
        rate = totals.refund_rate_bp if totals else None
        rate_text = "no sales" if rate is None else f"refund rate {rate // 100}.{rate % 100:02d}%"
        parts.append(f'<g class="day" data-day="{escape(day)}"><title>{escape(day)}: '
                     f"{escape(rate_text)}</title>")
        for j, ((name, color), value) in enumerate(zip(SERIES, row, strict=True)):
            h = (HEIGHT - PAD) * value / top
            parts.append(
                f'<rect class="{name}" x="{x0 + j * bar:.1f}" y="{HEIGHT - h:.1f}" '
                f'width="{bar:.1f}" height="{h:.1f}" fill="{color}">'
                f"<title>{escape(day)} {name}: {escape(str(Money(value, currency)))}</title></rect>"
            )
        if len(days) <= 14 or i % max(1, len(days) // 10) == 0:
            parts.append(f'<text x="{x0:.1f}" y="{HEIGHT + 14}" font-size="10">'
                         f"{escape(day[5:])}</text>")
        parts.append("</g>")
    for k, (name, color) in enumerate(SERIES):
        x = PAD + k * 150
        parts.append(f'<rect x="{x}" y="{HEIGHT + 24}" width="10" height="10" fill="{color}"/>'
                     f'<text x="{x + 14}" y="{HEIGHT + 33}" font-size="11">'
                     f'{name.replace("_amount", "").replace("review", "sent to review")}</text>')
    parts.append("</svg>")
    return Markup("".join(parts))  # noqa: S704 - every interpolated value is escaped above
