"""Does ``refunds ledger export`` run in bounded memory? Seed N decisions and a baseline of N/10,
export both through the real command in child processes, and compare their peak RSS.

    python bench/bench_export.py --rows 1000000 --format csv

Seeding is a bulk ``executemany`` into a migrated SQLite file (one refund attempt per decision);
the peak RSS of each export is the child's own ``ru_maxrss`` from ``os.wait4``. Bounded memory
means the N run's peak is close to the baseline's although it writes ten times the rows.
"""

from __future__ import annotations

import argparse
import json
import os
import sqlite3
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from refunds_plugin.ledger.db import make_engine
from refunds_plugin.ledger.migrate import migrate

START = datetime(2026, 1, 1, tzinfo=UTC)
EXPLANATION = ("Your return of 1 x Shirt is approved. We will refund 25.00 EUR to your original "
               "payment. The money will be on its way within 48 hours.")


def seed(path: Path, rows: int, batch: int = 20_000) -> float:
    began = time.perf_counter()
    url = f"sqlite:///{path}"
    engine = make_engine(url)
    migrate(engine)
    engine.dispose()
    conn = sqlite3.connect(path)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=OFF")
    body = json.dumps({"outcome": "approve", "reason_code": "approved", "explanation": EXPLANATION,
                       "resolutions": [{"kind": "refund", "amount": 2500}], "trace": []})
    for first in range(0, rows, batch):
        decs, atts = [], []
        for i in range(first, min(rows, first + batch)):
            did = str(uuid.UUID(int=i + 1))
            when = (START + timedelta(seconds=i * 7)).strftime("%Y-%m-%d %H:%M:%S.%f")
            decs.append((did, f"o-{i}", f"return:r-{i}", "return", "approve", "refund", "EUR",
                         2500, 2500, 0, "approved", "default", "0" * 64, EXPLANATION, body, "{}",
                         "{}", f"cus_{i % 5000}", f"c{i % 5000}@example.com", when))
            aid = str(uuid.UUID(int=(1 << 64) + i))
            atts.append((aid, did, f"o-{i}", 0, "dryrun", "refund", "EUR", 2500, 0,
                         "requested_by_customer", f"refunds-plugin-attempt-{aid}", "succeeded",
                         0, when, when, when))
        conn.executemany(
            "INSERT INTO decisions (id, order_id, request_key, kind, outcome, resolution, "
            "currency, amount, refund_amount, credit_amount, reason_code, policy_name, "
            "policy_hash, explanation, body, facts, request, customer_id, customer_email, "
            "created_at) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)", decs)
        conn.executemany(
            "INSERT INTO refund_attempts (id, decision_id, order_id, seq, provider, kind, "
            "currency, amount, bonus, reason, idempotency_key, status, tries, next_try_at, "
            "created_at, updated_at) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)", atts)
        conn.commit()
    conn.close()
    return time.perf_counter() - began


def export(path: Path, fmt: str) -> tuple[float, float, int]:
    """(seconds, peak RSS in MiB, bytes written) of one ``refunds ledger export`` child."""
    env = {**os.environ, "REFUNDS_DATABASE_URL": f"sqlite:///{path}"}
    out = path.with_suffix(f".{fmt}")
    began = time.perf_counter()
    child = subprocess.Popen(
        [sys.executable, "-m", "refunds_plugin.cli", "ledger", "export", "--format", fmt,
         "--output", str(out)],
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    _, status, usage = os.wait4(child.pid, 0)
    seconds = time.perf_counter() - began
    child.returncode = os.waitstatus_to_exitcode(status)
    if child.returncode:
        raise SystemExit(f"export failed with exit code {child.returncode}")
    return seconds, usage.ru_maxrss / 1024, out.stat().st_size


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--rows", type=int, default=200_000)
    parser.add_argument("--baseline-rows", type=int, default=None, help="default: rows / 10")
    parser.add_argument("--format", choices=["csv", "json"], default="csv")
    parser.add_argument("--dir", default=None, help="where the databases go (default: a tmpdir)")
    args = parser.parse_args()
    base_rows = args.baseline_rows or max(1, args.rows // 10)
    with tempfile.TemporaryDirectory(dir=args.dir) as tmp:
        results = []
        for label, rows in (("baseline", base_rows), ("measured", args.rows)):
            path = Path(tmp) / f"{label}.db"
            seeded = seed(path, rows)
            seconds, peak, size = export(path, args.format)
            results.append((label, rows, seeded, seconds, peak, size))
            for suffix in ("", "-wal", "-shm", f".{args.format}"):
                Path(f"{path}{suffix}" if suffix.startswith("-") or not suffix
                     else path.with_suffix(suffix)).unlink(missing_ok=True)
    print(f"{'run':<9} {'rows':>10} {'seed s':>8} {'export s':>9} {'rows/s':>9} "
          f"{'peak RSS MiB':>13} {'output MiB':>11}")
    for label, rows, seeded, seconds, peak, size in results:
        print(f"{label:<9} {rows:>10,} {seeded:>8.1f} {seconds:>9.1f} {rows / seconds:>9,.0f} "
              f"{peak:>13.1f} {size / 2**20:>11.1f}")
    (_, base_n, *_, base_peak, _), (_, n, *_, peak, _) = results
    print(f"{n / base_n:.0f}x the rows used {peak / base_peak:.2f}x the peak memory "
          f"({peak - base_peak:+.1f} MiB)")


if __name__ == "__main__":
    main()
