"""The project's import graph, read with the standard library's ``ast`` (nothing is imported).

Used by ``tests/unit/test_layout.py`` (the layout rules) and ``bench/layout_report.py`` (the
figures). Every ``import`` statement counts, module-level or lazy inside a function, except those
under ``if TYPE_CHECKING:``: those never run, so they tie nothing together at run time.
``from pkg import name`` is an edge to the submodule ``pkg.name`` when that file (or package)
exists, else to ``pkg``. Importing ``a.b.c`` is one edge to ``a.b.c``: the parent packages'
``__init__`` modules it also runs are not edges, or every package whose ``__init__`` names its
submodules would count as a cycle.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass, field
from pathlib import Path

TREES = ("refunds_plugin", "webhooks", "policies")
IMPORT_ERRORS = {"ImportError", "ModuleNotFoundError"}


@dataclass(frozen=True)
class Edge:
    """One import statement: ``source`` imports ``target`` at ``path:line``."""

    source: str
    target: str  # dotted name; a project module, or whatever outside name was written
    path: str  # relative to the root, for messages
    line: int
    level: int  # 0 for an absolute import, the number of dots for a relative one

    def where(self) -> str:
        return f"{self.path}:{self.line}"


@dataclass
class Graph:
    """Project modules (dotted name → file), every import edge, and the guarded imports."""

    root: Path
    modules: dict[str, Path] = field(default_factory=dict)
    edges: list[Edge] = field(default_factory=list)
    guarded: list[tuple[str, int]] = field(default_factory=list)  # try: import … except ImportError
    dynamic: list[tuple[str, int]] = field(default_factory=list)  # __import__("…") calls

    def project_edges(self) -> dict[str, dict[str, Edge]]:
        """source → {target: first edge} over project modules only, self-imports dropped."""
        out: dict[str, dict[str, Edge]] = {name: {} for name in self.modules}
        for e in self.edges:
            if e.target in self.modules and e.target != e.source:
                out[e.source].setdefault(e.target, e)
        return out


def module_name(root: Path, path: Path) -> str:
    parts = list(path.relative_to(root).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _is_type_checking(test: ast.expr) -> bool:
    if isinstance(test, ast.Name):
        return test.id == "TYPE_CHECKING"
    return isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"


def _catches_import_error(handler: ast.ExceptHandler) -> bool:
    kinds = handler.type
    names = kinds.elts if isinstance(kinds, ast.Tuple) else [kinds] if kinds else []
    for n in names:
        name = n.id if isinstance(n, ast.Name) else n.attr if isinstance(n, ast.Attribute) else ""
        if name in IMPORT_ERRORS:
            return True
    return False


class _Reader(ast.NodeVisitor):
    def __init__(self, graph: Graph, name: str, path: Path, is_package: bool) -> None:
        self.graph, self.name, self.is_package = graph, name, is_package
        self.rel = str(path.relative_to(graph.root))

    def _add(self, target: str, node: ast.stmt, level: int) -> None:
        self.graph.edges.append(Edge(self.name, target, self.rel, node.lineno, level))

    def visit_If(self, node: ast.If) -> None:
        if _is_type_checking(node.test):
            for stmt in node.orelse:  # the else branch does run
                self.visit(stmt)
            return
        self.generic_visit(node)

    def visit_Try(self, node: ast.Try) -> None:
        imports = any(isinstance(n, ast.Import | ast.ImportFrom) for s in node.body
                      for n in ast.walk(s))
        if imports and any(_catches_import_error(h) for h in node.handlers):
            self.graph.guarded.append((self.rel, node.lineno))
        self.generic_visit(node)

    def visit_Call(self, node: ast.Call) -> None:
        if isinstance(node.func, ast.Name) and node.func.id == "__import__":
            self.graph.dynamic.append((self.rel, node.lineno))
        self.generic_visit(node)

    def visit_Import(self, node: ast.Import) -> None:
        for alias in node.names:
            self._add(alias.name, node, 0)

    def visit_ImportFrom(self, node: ast.ImportFrom) -> None:
        if node.level:
            # The package a relative import starts from: a package's own name, a module's parent.
            parts = self.name.split(".")
            keep = len(parts) - node.level + (1 if self.is_package else 0)
            base = ".".join(parts[:keep] + ([node.module] if node.module else []))
        else:
            base = node.module or ""
        for alias in node.names:
            sub = f"{base}.{alias.name}"
            self._add(sub if sub in self.graph.modules else base, node, node.level)


def read_graph(root: Path, trees: tuple[str, ...] = TREES) -> Graph:
    """Read every ``*.py`` file under ``root/<tree>`` for each tree."""
    graph = Graph(root=root)
    files = sorted(p for tree in trees for p in (root / tree).rglob("*.py"))
    for path in files:
        graph.modules[module_name(root, path)] = path
    for path in files:
        name = module_name(root, path)
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        _Reader(graph, name, path, path.name == "__init__.py").visit(tree)
    return graph


def strongly_connected(adj: dict[str, dict[str, Edge]]) -> list[list[str]]:
    """Tarjan's components with more than one module (self-imports are dropped upstream)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(v: str) -> None:  # the graph is a few hundred nodes: recursion is fine
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in adj[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                found.append(sorted(comp))

    for v in sorted(adj):
        if v not in index:
            visit(v)
    return sorted(found)


def path_between(adj: dict[str, dict[str, Edge]], start: str, goal: str,
                 within: set[str] | None = None) -> list[Edge] | None:
    """The shortest chain of edges from ``start`` to ``goal`` (optionally inside ``within``)."""
    came: dict[str, Edge | None] = {start: None}
    queue = [start]
    for v in queue:
        for w, e in sorted(adj[v].items()):
            if within is not None and w not in within:
                continue
            if w == goal:
                chain = [e]
                while (back := came[v]) is not None:
                    chain.append(back)
                    v = back.source
                return chain[::-1]
            if w not in came:
                came[w] = e
                queue.append(w)
    return None


def describe_cycle(adj: dict[str, dict[str, Edge]], comp: list[str]) -> str:
    """One closed chain through the component's first module, each edge with its file:line."""
    first = comp[0]
    chain = path_between(adj, first, first, set(comp)) or []
    return " -> ".join(f"{e.source} ({e.where()})" for e in chain) + f" -> {first}"


def floors(adj: dict[str, dict[str, Edge]]) -> list[str]:
    """The longest import chain, as components (a cycle counts as one floor), from the top."""
    comps = strongly_connected(adj)
    rep = {m: m for m in adj}
    for comp in comps:
        for m in comp:
            rep[m] = "{" + ", ".join(comp) + "}"
    dag: dict[str, set[str]] = {r: set() for r in rep.values()}
    for v, targets in adj.items():
        dag[rep[v]].update(rep[w] for w in targets if rep[w] != rep[v])
    best: dict[str, list[str]] = {}

    def longest(node: str) -> list[str]:
        if node not in best:
            below = [longest(w) for w in sorted(dag[node])]
            best[node] = [node, *max(below, key=len, default=[])]
        return best[node]

    return max((longest(n) for n in sorted(dag)), key=len, default=[])
