"""Charts for the finance summary as inline SVG, drawn on the server: no JavaScript, no library.

One chart per currency, titled with it: one group of bars per day (refunded, credited, dry run,
kept, waiting for review), a y axis with amounts in that currency, the days along the x axis,
and each bar's amount written over it, so the chart reads without hovering. Two amounts never
touch: where bars stand close (a month on a phone), the taller bar's is written and the other
is in its bar's tooltip only (``place``). The day's refund rate against payments captured is in
each group's tooltip.

Every day of the period has its place on the x axis, a day with nothing in it too, so a gap in
time looks like one (a period of more than ``MAX_DAYS`` days, or one without bounds, shows the
days that have figures). The y axis's marks are round amounts in the currency (``step``: 1, 2,
2.5 or 5 times a power of ten of minor units), counted in integers, from 0 to the first mark at
or above the day's largest figure.
"""

from __future__ import annotations

import math
from datetime import UTC, date, timedelta

from markupsafe import Markup, escape

from refunds_plugin.finance.summary import Summary
from refunds_plugin.language.catalogue import english
from refunds_plugin.money import exponent

SERIES = (
    ("refunded", "#1f4b99", "refunded"),
    ("credited", "#2e8540", "credited"),
    ("dry_run", "#6b6b6b", "dry run (no money moved)"),
    ("kept", "#b58105", "kept (no return)"),
    ("review_amount", "#9b2c2c", "waiting for review"),
)
# drawn 360 wide, about a phone's column (355 px on a 375 px screen), so its 11 px text is
# still 11 px there once the SVG is scaled to the column (drawn 720 wide it was 5 px); the
# stylesheet lets it grow to 1.5 times that on a desk. The legend stacks in two columns.
WIDTH, HEIGHT, LEFT, TOP, PAD = 360, 230, 64, 40, 10
TICKS = 4
LEGEND_COLUMN, LEGEND_ROW = 175, 16
# the days' labels ("11-24") are about 30 wide at 11 px: one in every so many slots
DAY_LABEL = 36
MAX_DAYS = 366  # a longer period shows only the days with figures
VALUE_HIGH = 11  # a bar's value at 11 px: its height above the baseline
# the title's baseline (14 px), the currency's over the y axis (TOP - 11), the days' under the
# x axis (+ 19) and the axis title's (+ 33) leave each text's box clear of its neighbours'
# (the 0.00 mark's, the highest mark's), as Chromium measures them on a phone


def step(top: int) -> int:
    """The y axis's step in minor units: the least of 1, 2, 2.5 or 5 times a power of ten
    (2.5 only where it is whole) that reaches ``top`` in ``TICKS`` steps."""
    raw = max(1, -(-top // TICKS))  # ceil without floats
    power = 10 ** (len(str(raw)) - 1)  # the power of ten at or below raw
    quarter = [5 * power // 2] if power >= 10 else []
    return next(c for c in (power, 2 * power, *quarter, 5 * power, 10 * power) if c >= raw)


def days_shown(summary: Summary) -> list[str]:
    """Every UTC day of the summary's period, oldest first, with or without figures; a period
    without bounds or longer than ``MAX_DAYS``: the days with figures."""
    if summary.since is None or summary.until is None:
        return sorted(summary.days)
    first = summary.since.astimezone(UTC).date()
    last = (summary.until - timedelta(microseconds=1)).astimezone(UTC).date()
    count = (last - first).days + 1
    if count > MAX_DAYS:
        return sorted(summary.days)
    every: set[str] = {date.isoformat(first + timedelta(days=k)) for k in range(count)}
    return sorted(every | set(summary.days))


def _short(minor: int, currency: str) -> str:
    """A bar's label: the amount without its currency (the title names it)."""
    return english(minor, currency, code=False)


def _inside(middle: float, words: str, left: float = 0) -> float:
    """A bar's value centred over it, moved left as far as needed to end inside the chart
    (the last day's bars stand at the right edge), about 7 wide a character at 11 px, and
    right as far as needed to start after the y axis (``left``)."""
    half = 3.5 * len(words)
    return min(max(middle, left + 1 + half), WIDTH - 1 - half)


Box = tuple[float, float, float, float]  # left, top, right, bottom


def _touch(a: Box, b: Box) -> bool:
    return a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3]


def place(wanted: list[tuple[float, float, str]]) -> list[bool]:
    """Which bars' values are written (``wanted``: each one's x centre, its baseline over its
    bar, its words), so that no two touch: the tallest bar's first, then each that touches
    none already written. One left out is in its bar's tooltip only (a month on a phone puts
    a day's bars a pixel or two apart): a value moved away from its bar would be read as
    another's."""
    order = sorted(range(len(wanted)), key=lambda k: wanted[k][1])
    taken: list[Box] = []
    out = [False] * len(wanted)
    for k in order:
        x, y, words = wanted[k]
        half = 3.5 * len(words) + 1  # about 7 wide a character, and a pixel between two
        box = (x - half, y - VALUE_HIGH, x + half, y + 2)
        if not any(_touch(box, t) for t in taken):
            taken.append(box)
            out[k] = True
    return out


def bars(summary: Summary, currency: str) -> Markup:
    days = days_shown(summary)
    values = [
        [getattr(summary.days.get(d, {}).get(currency), name, 0) or 0 for name, _, _ in SERIES]
        for d in days
    ]
    highest = max((v for day in values for v in day), default=0)
    # round marks in the currency: with nothing to draw, one major unit high
    reach = highest or 10 ** exponent(currency)
    mark = step(reach)
    marks = -(-reach // mark)
    top = mark * marks  # the axis's top: the first mark at or above the highest figure
    # room on the left for the longest amount on the axis, about 7 wide a character at 11 px
    left = max(LEFT, 7 * len(_short(top, currency)) + 10)
    base = HEIGHT  # the x axis
    tall = HEIGHT - TOP
    slot = (WIDTH - left - PAD) / max(1, len(days))
    bar = max(1.0, slot / (len(SERIES) + 1))
    cur = escape(currency)
    every = max(1, math.ceil(DAY_LABEL / slot))  # label a day in every this many
    rows = math.ceil(len(SERIES) / 2)
    title = f"Money per day in {cur}"
    tall_all = HEIGHT + 52 + rows * LEGEND_ROW  # the axes, their titles and the legend
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" role="img" class="chart" '
        f'viewBox="0 0 {WIDTH} {tall_all}" width="100%" aria-label="{title}">',
        f"<title>{title}: refunded, credited, dry run, kept and sent to review</title>",
        f'<text class="chart-title" x="{PAD}" y="14" font-size="14" font-weight="600">'
        f"{title}</text>",
        # the y axis with amounts in the currency, and the x axis with the days
        f'<line class="y-axis" x1="{left}" y1="{TOP}" x2="{left}" y2="{base}" stroke="#555"/>',
        f'<line class="x-axis" x1="{left}" y1="{base}" x2="{WIDTH - PAD}" y2="{base}" '
        f'stroke="#555"/>',
        f'<text x="{left - 6}" y="{TOP - 11}" font-size="11" text-anchor="end">{cur}</text>',
    ]
    for k in range(marks + 1):
        amount = mark * k
        y = base - tall * k / marks
        parts.append(
            f'<text class="y-tick" x="{left - 6}" y="{y + 4:.1f}" font-size="11" '
            f'text-anchor="end">{escape(_short(amount, currency))}</text>'
            f'<line x1="{left}" y1="{y:.1f}" x2="{WIDTH - PAD}" y2="{y:.1f}" stroke="#eee"/>'
        )
    # each value's place first, so that no two touch whatever their days
    wanted = [(_inside(left + i * slot + bar / 2 + j * bar + bar / 2,
                       _short(value, currency), left),
               base - tall * value / top - 3, _short(value, currency))
              for i, row in enumerate(values) for j, value in enumerate(row) if value]
    shown = iter(place(wanted))
    for i, (day, row) in enumerate(zip(days, values, strict=True)):
        x0 = left + i * slot + bar / 2
        totals = summary.days.get(day, {}).get(currency)
        rate = totals.refund_rate_bp if totals else None
        rate_text = ("nothing captured" if rate is None
                     else f"refund rate {rate // 100}.{rate % 100:02d}%")
        parts.append(f'<g class="day" data-day="{escape(day)}"><title>{escape(day)}: '
                     f"{escape(rate_text)}</title>")
        for j, ((name, color, label), value) in enumerate(zip(SERIES, row, strict=True)):
            if not value:
                continue
            h = tall * value / top
            words = _short(value, currency)
            x = x0 + j * bar
            parts.append(
                f'<rect class="{name}" x="{x:.1f}" y="{base - h:.1f}" '
                f'width="{bar:.1f}" height="{h:.1f}" fill="{color}">'
                f"<title>{escape(day)} {label}: {escape(english(value, currency))}</title>"
                f"</rect>"
            )
            if next(shown):
                parts.append(
                    f'<text class="value {name}" x="{_inside(x + bar / 2, words, left):.1f}" '
                    f'y="{base - h - 3:.1f}" font-size="11" text-anchor="middle">'
                    f"{escape(words)}</text>")
        middle = left + (i + 0.5) * slot  # under the day's bars
        if i % every == 0 and middle + DAY_LABEL / 2 <= WIDTH:  # the last one whole or not at all
            parts.append(f'<text class="x-tick" x="{middle:.1f}" y="{base + 19}" font-size="11" '
                         f'text-anchor="middle">{escape(day[5:])}</text>')
        parts.append("</g>")
    parts.append(f'<text x="{(left + WIDTH - PAD) / 2:.0f}" y="{base + 33}" font-size="11" '
                 f'text-anchor="middle">day (UTC, month-day)</text>')
    parts.append('<g class="legend">')
    for k, (_name, color, label) in enumerate(SERIES):
        x = PAD + (k % 2) * LEGEND_COLUMN
        y = base + 40 + (k // 2) * LEGEND_ROW
        parts.append(f'<rect x="{x}" y="{y}" width="10" height="10" fill="{color}"/>'
                     f'<text x="{x + 14}" y="{y + 9}" font-size="11">{label}</text>')
    parts.append("</g></svg>")
    return Markup("".join(parts))  # noqa: S704 - every interpolated value is escaped above
