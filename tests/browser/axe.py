"""axe-core, Deque's accessibility rules engine (MPL-2.0), run inside a page as an independent
check: not vendored. It is found at ``$REFUNDS_AXE_JS``, else ``node_modules/axe-core/axe.min.js``
in the repository (``npm install --no-save --no-package-lock axe-core@4``), else the copy the
test extra's ``axe-playwright-python`` ships; without any the tests that use it skip and say how
to get it. The pages forbid scripts (CSP ``script-src 'none'``),
so a page checked with it is opened in a context made with ``bypass_csp=True``."""

from __future__ import annotations

import importlib.resources
import os
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
HOW = ("axe-core is not installed: `pip install -e '.[test]'` (axe-playwright-python ships it), "
       f"`npm install --no-save --no-package-lock axe-core@4` in {ROOT}, or set REFUNDS_AXE_JS "
       "to an axe.min.js")
BLOCKING = ("serious", "critical")


def axe_js() -> Path:
    """The axe.min.js to inject; skips the test when there is none."""
    named = os.environ.get("REFUNDS_AXE_JS")
    found = Path(named) if named else ROOT / "node_modules" / "axe-core" / "axe.min.js"
    if not named and not found.is_file():
        try:
            shipped = importlib.resources.files("axe_playwright_python") / "axe.min.js"
        except ModuleNotFoundError:
            shipped = None
        if shipped is not None and shipped.is_file():
            found = Path(str(shipped))
    if not found.is_file():
        pytest.skip(HOW if not named else f"REFUNDS_AXE_JS={named} is not a file")
    return found


def violations(page: Any, script: Path, impacts: tuple[str, ...] = BLOCKING) -> list[str]:
    """One line per rule axe-core finds broken on the page at ``impacts``, naming the rule, its
    impact and the elements (at most five); [] when none."""
    page.wait_for_load_state("load")
    page.add_script_tag(path=str(script))
    found = page.evaluate("() => axe.run(document, {resultTypes: ['violations']})")
    return [f"{v['id']} ({v['impact']}): {v['help']}: "
            + ", ".join(" ".join(n["target"]) for n in v["nodes"][:5])
            for v in found["violations"] if v["impact"] in impacts]
