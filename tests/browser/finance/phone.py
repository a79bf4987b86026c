"""What a finance page must be on a 375 × 812 phone, measured by Chromium in the page itself:
the page never scrolls sideways (a wide table scrolls inside its own box), no word, amount or
status in a table is broken across lines, every chart lies within the screen with all its text
inside it, legible (at least 10 px once the SVG is scaled) and not overlapping its neighbours,
and every button is at least 44 px tall."""

from __future__ import annotations

from typing import Any

PHONE = {"width": 375, "height": 812}

# one sentence per thing wrong, naming the element and the numbers
PROBLEMS = """() => {
  const found = [];
  const view = window.innerWidth;
  const shown = r => r.width > 0 && r.height > 0;
  const page = document.documentElement.scrollWidth;
  if (page > view) found.push(`the page is ${page} px wide`);
  // a token is a run without spaces, cut after a hyphen or a slash: the places a line may
  // break; one that takes two boxes was broken inside
  document.querySelectorAll("th, td").forEach(cell => {
    const walk = document.createTreeWalker(cell, NodeFilter.SHOW_TEXT);
    for (let node = walk.nextNode(); node; node = walk.nextNode()) {
      const re = /[^\\s\\-\\/]+[\\-\\/]?/g;
      let m;
      while ((m = re.exec(node.data)) !== null) {
        const range = document.createRange();
        range.setStart(node, m.index);
        range.setEnd(node, m.index + m[0].length);
        const tops = new Set([...range.getClientRects()].filter(shown)
                             .map(r => Math.round(r.top)));
        if (tops.size > 1) found.push(`"${m[0]}" is broken across ${tops.size} lines`);
      }
    }
  });
  document.querySelectorAll("svg.chart, svg.insight-chart").forEach((svg, i) => {
    const box = svg.getBoundingClientRect();
    if (box.left < 0 || box.right > view + 0.5)
      found.push(`chart ${i} runs from ${box.left} to ${box.right} px`);
    const texts = [...svg.querySelectorAll("text")].filter(
      t => shown(t.getBoundingClientRect()));
    texts.forEach(t => {
      const r = t.getBoundingClientRect();
      const m = t.getScreenCTM();  // its scale, whether the text is rotated or not
      const px = parseFloat(getComputedStyle(t).fontSize) * Math.hypot(m.a, m.b);
      if (px < 10) found.push(`chart ${i}: "${t.textContent}" is ${px.toFixed(1)} px`);
      if (r.left < box.left - 0.5 || r.right > box.right + 0.5)
        found.push(`chart ${i}: "${t.textContent}" is cut at the edge`);
    });
    const legend = texts.filter(t => t.closest(".legends, .legend"));
    legend.forEach((a, j) => legend.slice(j + 1).forEach(b => {
      const p = a.getBoundingClientRect(), q = b.getBoundingClientRect();
      if (p.left < q.right && q.left < p.right && p.top < q.bottom && q.top < p.bottom)
        found.push(`chart ${i}: legend "${a.textContent}" overlaps "${b.textContent}"`);
    }));
  });
  document.querySelectorAll("button, input[type=submit]").forEach(b => {
    const r = b.getBoundingClientRect();
    if (shown(r) && r.height < 44)
      found.push(`button "${b.textContent.trim()}" is ${r.height.toFixed(1)} px tall`);
  });
  return found;
}"""


def problems(page: Any) -> list[str]:
    """What is wrong with the page as shown on the phone; [] when nothing. Measured once the
    page has loaded: a heading can be there before its stylesheet (a loaded machine measured
    an unstyled 21 px "Log out" button)."""
    page.wait_for_load_state("load")
    assert page.evaluate("window.innerWidth") == PHONE["width"]
    return list(page.evaluate(PROBLEMS))


def one_line(page: Any, selector: str) -> list[int]:
    """The number of lines each non-empty element matching selector takes (1 when none is
    broken)."""
    return list(page.eval_on_selector_all(selector, """cells => cells.filter(
        c => c.textContent.trim()).map(c => {
        const range = document.createRange();
        range.selectNodeContents(c);
        return new Set([...range.getClientRects()].filter(r => r.width > 0)
                       .map(r => Math.round(r.top))).size;
    })"""))


DESK = {"width": 1280, "height": 800}

# an amount (``103.95 EUR``, ``1,234.50 USD``, ``-12 JPY``) or a time (``2026-12-05 18:49 UTC``)
# in a table cell that takes more than one line box
BROKEN_FIGURES = r"""() => {
  const found = [];
  const figure = /-?\d[\d,]*(\.\d+)? [A-Z]{3}\b|\d{4}-\d\d-\d\d \d\d:\d\d UTC/g;
  document.querySelectorAll("td").forEach(cell => {
    const walk = document.createTreeWalker(cell, NodeFilter.SHOW_TEXT);
    for (let node = walk.nextNode(); node; node = walk.nextNode()) {
      let m;
      while ((m = figure.exec(node.data)) !== null) {
        const range = document.createRange();
        range.setStart(node, m.index);
        range.setEnd(node, m.index + m[0].length);
        const tops = new Set([...range.getClientRects()].filter(r => r.width > 0)
                             .map(r => Math.round(r.top)));
        if (tops.size > 1) found.push(`"${m[0]}" is broken across ${tops.size} lines`);
      }
    }
  });
  const page = document.documentElement.scrollWidth;
  if (page > window.innerWidth) found.push(`the page is ${page} px wide`);
  return found;
}"""


def broken_figures(page: Any) -> list[str]:
    """Amounts and times in the page's tables broken across lines, and a page wider than the
    window; [] when none."""
    return list(page.evaluate(BROKEN_FIGURES))
