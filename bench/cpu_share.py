"""Where the machine's CPU went while a bench loaded a target: CPU seconds per event of the
target's own processes (its session: gunicorn's arbiter, workers and their threads), the
database server's processes, the load generator (this process) and everything else, read from
``/proc`` (Linux) before and after each load. Used by ``bench_webhooks.py --cpu``.

On this 2-core machine it explains the PostgreSQL targets: one gunicorn worker is bound by the
GIL when its process is near 100% of a core, and two workers by the machine when the sum is near
200%.
"""

from __future__ import annotations

import os
from collections import Counter
from pathlib import Path

TICK = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100
GROUPS = ("service", "database server", "load generator", "other")


def snapshot() -> dict[int, tuple[int, float, bool]]:
    """Every process: (session id, CPU seconds so far, is a PostgreSQL process)."""
    seen: dict[int, tuple[int, float, bool]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            cmd = (entry / "cmdline").read_bytes()[:9]
        except OSError:  # gone meanwhile
            continue
        fields = stat[stat.rfind(")") + 2:].split()
        seen[int(entry.name)] = (int(fields[3]), (int(fields[11]) + int(fields[12])) / TICK,
                                 cmd.startswith(b"postgres"))
    return seen


def share(before: dict[int, tuple[int, float, bool]], after: dict[int, tuple[int, float, bool]],
          session: int) -> Counter[str]:
    """CPU seconds spent between the snapshots, by group; ``session``: the target's."""
    spent: Counter[str] = Counter()
    me = os.getpid()
    for pid, (sid, cpu, postgres) in after.items():
        used = cpu - before.get(pid, (0, 0.0, False))[1]
        if used <= 0:
            continue
        group = ("load generator" if pid == me else "service" if sid == session
                 else "database server" if postgres else "other")
        spent[group] += used
    return spent


def lines(spent: Counter[str], events: int, seconds: float) -> list[str]:
    if not events or not seconds:
        return []
    parts = [f"{g} {1000 * spent[g] / events:.2f} ms ({100 * spent[g] / seconds:.0f}% of a core)"
             for g in GROUPS if spent[g]]
    total = sum(spent.values())
    return [f"  CPU per event: {', '.join(parts)}; all {1000 * total / events:.2f} ms "
            f"({100 * total / seconds:.0f}% of a core, {os.cpu_count()} cores)"]
