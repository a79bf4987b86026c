"""No migration runs the app's code: a revision that imported ``refunds_plugin`` (or ``policies``,
``webhooks``) would do something else, or fail, once that code changed, when an old ledger is
upgraded through it. Revisions carry their logic and table shapes themselves, or import a frozen
module kept beside ``env.py`` (``FROZEN``), which imports no app code either.

A pure constant that can never change may be allowed in ``ALLOWED`` with the reason, and the
revision must say the same in a comment. Read with the standard library's ``ast``: imports
inside functions count, and so does ``importlib.import_module`` / ``__import__`` of a name.
"""

from __future__ import annotations

import ast
from pathlib import Path

MIGRATIONS = Path(__file__).resolve().parents[2] / "refunds_plugin" / "ledger" / "migrations"
APP = ("refunds_plugin", "policies", "webhooks")
# frozen modules beside env.py (not in versions/, where Alembic would take them for revisions),
# each copied from the app's code of one revision and never edited
FROZEN = {"refunds_plugin.ledger.migrations.rollups_0018"}
# (revision file, module, name) -> why that constant can never change; none needed so far
ALLOWED: dict[tuple[str, str, str], str] = {}


def app_imports(source: str) -> list[tuple[int, str, str]]:
    """(line, module, name) of every import of app code in ``source`` (name '*' for a module)."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found += [(node.lineno, a.name, "*") for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found += [(node.lineno, node.module, a.name) for a in node.names]
        elif isinstance(node, ast.ImportFrom):  # relative: inside the app's package tree
            found += [(node.lineno, "." * node.level + (node.module or ""), "*")]
        elif isinstance(node, ast.Call) and _dynamic(node.func) and node.args and isinstance(
                node.args[0], ast.Constant) and isinstance(node.args[0].value, str):
            found.append((node.lineno, node.args[0].value, "*"))
    return sorted((line, module, name) for line, module, name in found
                  if module.startswith(".") or module.split(".")[0] in APP)


def _dynamic(func: ast.expr) -> bool:
    return (isinstance(func, ast.Name) and func.id in ("__import__", "import_module")) or (
        isinstance(func, ast.Attribute) and func.attr == "import_module")


def offenders(path: Path) -> list[str]:
    out = []
    for line, module, name in app_imports(path.read_text(encoding="utf-8")):
        if module in FROZEN or (path.name, module, name) in ALLOWED:
            continue
        out.append(f"{path.relative_to(MIGRATIONS)}:{line}: {module} {name}")
    return out


def test_the_checker_sees_every_kind_of_app_import() -> None:
    source = (
        "import json\nimport sqlalchemy as sa\nfrom alembic import op\n"
        "from refunds_plugin.ledger.line_index import mark_decision\n"
        "import refunds_plugin.money\n"
        "def upgrade():\n"
        "    from policies import evaluate\n"
        "    importlib.import_module('webhooks.api')\n"
        "    __import__('refunds_plugin.ledger.tables')\n"
        "    from .tables import metadata\n")
    assert app_imports(source) == [
        (4, "refunds_plugin.ledger.line_index", "mark_decision"),
        (5, "refunds_plugin.money", "*"), (7, "policies", "evaluate"),
        (8, "webhooks.api", "*"), (9, "refunds_plugin.ledger.tables", "*"),
        (10, ".tables", "*")]


def test_no_revision_imports_the_apps_code() -> None:
    revisions = sorted((MIGRATIONS / "versions").glob("*.py"))
    assert len(revisions) >= 29  # the walker read the real folder (0001 to 0031, with gaps)
    assert [o for path in revisions for o in offenders(path)] == []


def test_the_frozen_modules_import_no_app_code_and_are_no_revisions() -> None:
    for module in sorted(FROZEN):
        path = MIGRATIONS / (module.rsplit(".", 1)[1] + ".py")
        assert app_imports(path.read_text(encoding="utf-8")) == [], path
        assert not (MIGRATIONS / "versions" / path.name).exists()


def test_every_allowed_constant_is_explained_in_its_revision() -> None:
    for (file, module, name), why in ALLOWED.items():
        text = (MIGRATIONS / "versions" / file).read_text(encoding="utf-8")
        assert why and f"from {module} import" in text and name in text, (file, module, name)
