"""The layout's figures: modules directly under ``refunds_plugin/``, import cycles, floors.

    python bench/layout_report.py [ROOT]

ROOT defaults to this checkout; point it at an unpacked older commit to compare (for b3d771f,
the last flat layout: ``git archive b3d771f | tar -x -C /tmp/old``). The graph is the one
``tests/unit/test_layout.py`` checks (``tests/layout_graph.py``): lazy imports count,
``TYPE_CHECKING`` ones do not. A floor is one step of the longest import chain, a cycle
counting as one step.
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.layout_graph import describe_cycle, floors, read_graph, strongly_connected


def main() -> None:
    root = Path(sys.argv[1]).resolve() if len(sys.argv) > 1 else Path(__file__).parents[1]
    graph = read_graph(root)
    adj = graph.project_edges()
    cycles = strongly_connected(adj)
    chain = floors(adj)
    top = sorted(p.name for p in (root / "refunds_plugin").glob("*.py"))
    print(f"root: {root}")
    print(f"project modules: {len(graph.modules)}; import edges between them: "
          f"{sum(len(t) for t in adj.values())}")
    print(f"modules directly under refunds_plugin/: {len(top)}")
    outside = [c for c in cycles if not all(m.startswith("policies") for m in c)]
    print(f"import cycles: {len(cycles)} ({len(outside)} outside policies/)")
    for comp in cycles:
        print(f"  {describe_cycle(adj, comp)}")
    print(f"floors (longest import chain): {len(chain)}")
    for i, step in enumerate(chain, 1):
        print(f"  {i:2}. {step}")
    importlib = sum(1 for e in graph.edges if e.target.split(".")[0] == "importlib")
    print(f"importlib imports: {importlib}; try/except ImportError around imports: "
          f"{len(graph.guarded)}")


if __name__ == "__main__":
    main()
