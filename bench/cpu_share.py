"""Where the machine's CPU went while a bench loaded a target: CPU seconds per event of the
target's own processes (its session: gunicorn's arbiter, workers and their threads), the
database server's processes, the load generator (this process) and everything else, read from
``/proc`` (Linux) before and after each load. Used by ``bench_webhooks.py --cpu`` and
``bench_scaleout.py --cpu``.

On this 2-core machine it explains the PostgreSQL targets: one gunicorn worker is bound by the
GIL when its process is near 100% of a core, and two workers by the machine when the sum is near
200%.
"""

from __future__ import annotations

import os
from collections import Counter
from collections.abc import Collection
from pathlib import Path

TICK = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100
GROUPS = ("service", "database server", "load generator", "delay proxy", "other")


def snapshot() -> dict[int, tuple[int, float, bool]]:
    """Every process: (session id, CPU seconds so far, is a PostgreSQL process).

    A process's CPU includes its children that ended and were reaped (``cutime``, ``cstime``):
    a database backend that lived for one connection is counted in the server's postmaster,
    so a pool that opens and closes connections under load does not hide their cost."""
    seen: dict[int, tuple[int, float, bool]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            program = (entry / "cmdline").read_bytes().split(b"\0", 1)[0]
        except OSError:  # gone meanwhile
            continue
        fields = stat[stat.rfind(")") + 2:].split()
        ticks = sum(int(f) for f in fields[11:15])  # utime, stime, cutime, cstime
        # a backend names itself "postgres: ..."; the server's first process (the one that
        # reaps them) keeps its program's path
        postgres = program.startswith(b"postgres") or program.endswith(b"/postgres")
        seen[int(entry.name)] = (int(fields[3]), ticks / TICK, postgres)
    return seen


def share(before: dict[int, tuple[int, float, bool]], after: dict[int, tuple[int, float, bool]],
          session: int, proxy: int | None = None, skip: Collection[int] = ()) -> Counter[str]:
    """CPU seconds spent between the snapshots, by group; ``session``: the target's, ``proxy``:
    the delay proxy's (``bench_scaleout.py``); ``skip``: processes of the bench's own (its lock
    sampler's server process), counted nowhere."""
    spent: Counter[str] = Counter()
    me = os.getpid()

    def group(pid: int, sid: int, postgres: bool) -> str:
        return ("load generator" if pid == me else "service" if sid == session
                else "delay proxy" if sid == proxy else "database server" if postgres
                else "other")

    for pid, (sid, cpu, postgres) in after.items():
        if pid not in skip:
            spent[group(pid, sid, postgres)] += cpu - before.get(pid, (0, 0.0, False))[1]
    for pid, (sid, cpu, postgres) in before.items():
        # ended meanwhile: its whole life is now in its parent's figure
        if pid not in after and pid not in skip:
            spent[group(pid, sid, postgres)] -= cpu
    return Counter({g: s for g, s in spent.items() if s > 0})


def lines(spent: Counter[str], events: int, seconds: float) -> list[str]:
    """The report line, or none when nothing was measured (``--cpu`` not given)."""
    if not events or not seconds or not spent:
        return []
    parts = [f"{g} {1000 * spent[g] / events:.2f} ms ({100 * spent[g] / seconds:.0f}% of a core)"
             for g in GROUPS if spent[g]]
    total = sum(spent.values())
    return [f"  CPU per event: {', '.join(parts)}; all {1000 * total / events:.2f} ms "
            f"({100 * total / seconds:.0f}% of a core, {os.cpu_count()} cores)"]
