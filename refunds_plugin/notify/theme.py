"""The merchant's colours made safe to use: a valid hex colour, and text that stays readable on it.

Colours come from configuration and end up in CSS, so anything that is not ``#rgb`` or
``#rrggbb`` is replaced by the default; text on the brand colour is black or white, whichever
contrasts more (WCAG 2 relative luminance), and links fall back to near-black when the brand
colour is too light to read on white (below 4.5:1).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

DEFAULT = "#1f4b99"
_HEX = re.compile(r"^#(?:[0-9a-fA-F]{3}|[0-9a-fA-F]{6})$")


def _channels(color: str) -> tuple[float, float, float]:
    digits = color[1:]
    if len(digits) == 3:
        digits = "".join(c * 2 for c in digits)
    r, g, b = (int(digits[i : i + 2], 16) / 255 for i in (0, 2, 4))
    return r, g, b


def luminance(color: str) -> float:
    def lin(c: float) -> float:
        return c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4

    r, g, b = (lin(c) for c in _channels(color))
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def contrast(a: str, b: str) -> float:
    la, lb = sorted((luminance(a), luminance(b)), reverse=True)
    return (la + 0.05) / (lb + 0.05)


@dataclass(frozen=True)
class Theme:
    primary: str  # the brand colour (buttons, header band)
    on_primary: str  # text on the brand colour
    link: str  # links and focus rings on the white page


def theme(primary: str) -> Theme:
    color = primary.strip() if _HEX.match(primary.strip()) else DEFAULT
    on = "#ffffff" if contrast(color, "#ffffff") >= contrast(color, "#000000") else "#000000"
    link = color if contrast(color, "#ffffff") >= 4.5 else "#1a1a1a"
    return Theme(color.lower(), on, link.lower())
