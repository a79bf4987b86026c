"""The layout stays true: the import rules of ``docs/architecture.md``, read from the source.

The graph comes from ``tests/layout_graph.py`` (the standard library's ``ast``; lazy imports
count, ``TYPE_CHECKING`` ones do not). Each rule is its own test and names its offenders with
file and line. The first tests check the reader itself, on the real tree and on a small made-up
one, so no rule can pass because the walker saw nothing. ``bench/layout_report.py`` prints the
figures (module count, cycles, floors).
"""

from __future__ import annotations

from collections import deque
from functools import cache
from pathlib import Path

from tests.layout_graph import (
    Edge,
    Graph,
    describe_cycle,
    floors,
    read_graph,
    strongly_connected,
)

ROOT = Path(__file__).resolve().parents[2]
MAX_TOP_LEVEL_MODULES = 12
# Where an ImportError guard would make wiring optional: the app factory, the CLI, the runtime.
WIRING = ("refunds_plugin/bootstrap.py", "webhooks/__init__.py", "refunds_plugin/cli/")
# What we call (providers/) must not reach what calls us: the intake, trouble and inbound Stripe.
ABOVE_PROVIDERS = ("refunds_plugin.intake", "refunds_plugin.trouble", "refunds_plugin.stripe")


@cache
def project() -> Graph:
    return read_graph(ROOT)


def _under(name: str, package: str) -> bool:
    return name == package or name.startswith(package + ".")


def _figures(graph: Graph) -> str:
    adj = graph.project_edges()
    top = len(list((graph.root / "refunds_plugin").glob("*.py")))
    return (f"figures: {len(graph.modules)} modules ({top} directly under refunds_plugin/), "
            f"{len(strongly_connected(adj))} import cycles, {len(floors(adj))} floors")


def _chain(edges: list[Edge]) -> str:
    return " -> ".join(f"{e.source} ({e.where()})" for e in edges) + f" -> {edges[-1].target}"


# --- the reader sees the project ---------------------------------------------------------


def test_the_reader_finds_the_project_modules_and_their_known_imports() -> None:
    graph = project()
    adj = graph.project_edges()
    assert len(graph.modules) > 50, _figures(graph)
    for tree in ("refunds_plugin", "webhooks", "policies"):
        assert any(_under(m, tree) for m in graph.modules), f"no module found under {tree}/"
    assert "refunds_plugin.ledger.journal" in adj["refunds_plugin.intake.service"]
    assert "refunds_plugin.ledger.tables" in adj["refunds_plugin.ledger.journal"]
    # policy.py imports describe() inside Policy.describe(): a lazy import is an edge
    lazy = adj["policies.policy"]["policies.description"]
    assert lazy.path == "policies/policy.py" and lazy.line > 100, lazy
    assert any(e.source == "refunds_plugin.providers.stripe" and e.target == "stripe"
               for e in graph.edges), "the Stripe provider's SDK import was not seen"


def test_the_reader_counts_lazy_imports_skips_type_checking_and_names_cycles(
    tmp_path: Path,
) -> None:
    files = {
        "refunds_plugin/__init__.py": "",
        "refunds_plugin/a.py": (
            "from typing import TYPE_CHECKING\n"
            "if TYPE_CHECKING:\n    from refunds_plugin import c\n"
            "def f():\n    from refunds_plugin import b\n"
        ),
        "refunds_plugin/b.py": "from . import a\n",
        "refunds_plugin/c.py": (
            "try:\n    import importlib\nexcept (ValueError, ImportError):\n    pass\n"
            "from refunds_plugin.pkg import nothing_of_that_name\n"
        ),
        "refunds_plugin/pkg/__init__.py": "from .sub import x\nfrom .. import c\n",
        "refunds_plugin/pkg/sub.py": "",
        "webhooks/__init__.py": "",
        "policies/__init__.py": "",
    }
    for name, text in files.items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(text)
    graph = read_graph(tmp_path)
    adj = graph.project_edges()
    assert sorted(adj["refunds_plugin.a"]) == ["refunds_plugin.b"]  # lazy in, TYPE_CHECKING out
    assert sorted(adj["refunds_plugin.b"]) == ["refunds_plugin.a"]
    assert sorted(adj["refunds_plugin.c"]) == ["refunds_plugin.pkg"]
    assert sorted(adj["refunds_plugin.pkg"]) == ["refunds_plugin.c", "refunds_plugin.pkg.sub"]
    assert graph.guarded == [("refunds_plugin/c.py", 1)]
    comps = strongly_connected(adj)
    assert comps == [["refunds_plugin.a", "refunds_plugin.b"],
                     ["refunds_plugin.c", "refunds_plugin.pkg"]]
    assert describe_cycle(adj, comps[0]) == (
        "refunds_plugin.a (refunds_plugin/a.py:5) -> refunds_plugin.b (refunds_plugin/b.py:1)"
        " -> refunds_plugin.a"
    )
    assert len(floors(adj)) == 2  # {c, pkg} -> pkg.sub; {a, b} is one floor on its own


# --- the rules ---------------------------------------------------------------------------


def test_at_most_twelve_modules_directly_under_refunds_plugin() -> None:
    top = sorted(p.name for p in (ROOT / "refunds_plugin").glob("*.py"))
    assert len(top) <= MAX_TOP_LEVEL_MODULES, (
        f"{len(top)} modules directly under refunds_plugin/ (at most {MAX_TOP_LEVEL_MODULES}): "
        f"{', '.join(top)}"
    )


def test_no_import_cycle_outside_policies() -> None:
    graph = project()
    adj = graph.project_edges()
    cycles = [describe_cycle(adj, comp) for comp in strongly_connected(adj)
              if not all(_under(m, "policies") for m in comp)]
    assert not cycles, "import cycles:\n  " + "\n  ".join(cycles) + "\n" + _figures(graph)


def test_no_importlib_wiring_in_refunds_plugin_or_webhooks() -> None:
    graph = project()
    found = [f"{e.where()} imports {e.target}" for e in graph.edges
             if e.level == 0 and _under(e.target, "importlib")
             and not e.source.startswith("policies")]
    found += [f"{path}:{line} calls __import__" for path, line in graph.dynamic
              if not path.startswith("policies/")]
    assert not found, "the wiring is explicit, yet:\n  " + "\n  ".join(found)


def test_no_webhooks_module_imports_the_ledger_tables() -> None:
    found = [f"{e.source} ({e.where()})" for e in project().edges
             if _under(e.source, "webhooks") and e.target == "refunds_plugin.ledger.tables"]
    assert not found, (
        "views run no SQL; these webhooks modules import refunds_plugin.ledger.tables:\n  "
        + "\n  ".join(sorted(set(found)))
    )


def test_no_import_error_guard_in_the_app_factory_the_cli_or_the_bootstrap() -> None:
    graph = project()
    for wiring in WIRING:  # each place exists, so the rule cannot pass on a renamed file
        assert (ROOT / wiring).exists(), f"{wiring} is gone: update WIRING in this test"
    found = [f"{path}:{line}" for path, line in graph.guarded if path.startswith(WIRING)]
    assert not found, "try: import ... except ImportError in the wiring:\n  " + "\n  ".join(found)


def test_the_stripe_sdk_is_imported_only_under_providers() -> None:
    found = [f"{e.source} ({e.where()})" for e in project().edges
             if e.level == 0 and _under(e.target, "stripe")
             and not _under(e.source, "refunds_plugin.providers")]
    assert not found, "the stripe SDK is imported outside providers/:\n  " + "\n  ".join(found)


def test_the_easypost_sdk_is_imported_only_by_its_carrier() -> None:
    edges = project().edges
    assert any(e.source == "refunds_plugin.shipping.carriers.easypost" and e.target == "easypost"
               for e in edges), "the EasyPost carrier no longer imports the SDK: update this test"
    found = [f"{e.source} ({e.where()})" for e in edges
             if e.level == 0 and _under(e.target, "easypost")
             and e.source != "refunds_plugin.shipping.carriers.easypost"]
    assert not found, "the easypost SDK is imported outside shipping/carriers/easypost.py:\n  " \
        + "\n  ".join(found)


def test_providers_never_reach_intake_trouble_or_inbound_stripe() -> None:
    """Directly or through another module: a chain of imports runs the code at its end."""
    graph = project()
    adj = graph.project_edges()
    providers = sorted(m for m in adj if _under(m, "refunds_plugin.providers"))
    assert len(providers) >= 4, providers
    found = []
    for start in providers:
        came: dict[str, Edge | None] = {start: None}
        queue = deque([start])
        while queue:
            v = queue.popleft()
            for w, edge in sorted(adj[v].items()):
                if w in came:
                    continue
                came[w] = edge
                if any(_under(w, bad) for bad in ABOVE_PROVIDERS):
                    chain, back = [], edge
                    while back is not None:
                        chain.append(back)
                        back = came[back.source]
                    found.append(_chain(chain[::-1]))
                else:
                    queue.append(w)
    assert not found, (
        "providers/ reaches the code that calls it:\n  " + "\n  ".join(sorted(set(found)))
    )


def test_no_import_hidden_behind_suppress_or_dunder_import() -> None:
    """The other ways to make wiring optional or invisible to this reader: contextlib's
    ``suppress(ImportError)`` around an import, and ``__import__``."""
    import re

    hidden = re.compile(r"suppress\((?:ImportError|ModuleNotFoundError)|\b__import__\(")
    assert hidden.search("with contextlib.suppress(ImportError):")  # the reader reads
    found = [
        f"{path.relative_to(ROOT).as_posix()}:{n}: {line.strip()}"
        for tree in ("refunds_plugin", "webhooks")
        for path in sorted((ROOT / tree).rglob("*.py"))
        for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
        if hidden.search(line)
    ]
    assert found == [], "\n".join(found)


def test_no_collaborator_is_attached_after_construction() -> None:
    """Explicit wiring: what a runtime, service or executor needs is handed to it when it is
    made (``bootstrap.build``), never set on it afterwards (``service.on_attempts = …``)."""
    import ast

    OWNERS = {"runtime", "rt", "service", "executor", "ex", "saleor_events", "poller", "web",
              "_runtime", "_rt"}

    def attached(source: str) -> list[int]:
        lines = []
        for node in ast.walk(ast.parse(source)):
            targets = node.targets if isinstance(node, ast.Assign) else (
                [node.target] if isinstance(node, ast.AnnAssign | ast.AugAssign) else [])
            for target in targets:
                # <a runtime, service, executor …>.attr = …; Flask's own objects (app, g,
                # responses) are configured by attribute, which is how Flask is wired
                if isinstance(target, ast.Attribute) and OWNERS & set(
                    ast.unparse(target.value).replace("(", ".").split(".")
                ):
                    lines.append(node.lineno)
        return lines

    assert attached("runtime.service.on_attempts = executor.wake\nself.x = 1\n"
                    "g.strings = 1\n_rt().executor.poller = p\n") == [1, 4]
    wiring = [ROOT / "refunds_plugin" / "bootstrap.py", *(ROOT / "webhooks").rglob("*.py"),
              *(ROOT / "refunds_plugin" / "cli").rglob("*.py")]
    found = [f"{path.relative_to(ROOT).as_posix()}:{n}" for path in sorted(wiring)
             for n in attached(path.read_text(encoding="utf-8"))]
    assert found == [], "attributes set on another object:\n" + "\n".join(found)
