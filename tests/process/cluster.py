"""Real processes for the multi-process tests: a gunicorn receiver and ``refunds worker``s.

Every child starts in its own session so a test can SIGKILL it (and gunicorn's workers) as a
group; ``Cluster.close`` kills whatever is still running, so no test leaves a process behind.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import requests
from sqlalchemy import Engine, create_engine, func, select, text

from refunds_plugin.ledger import chain, seal
from refunds_plugin.ledger.tables import ledger_entries, metadata, refund_attempts
from tests.fakes import STOREFRONT_SECRET, dumps
from webhooks import signatures

REFUNDS = [sys.executable, "-m", "refunds_plugin.cli"]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def truncate(engine: Engine) -> None:
    # ledger_entries before ledger_seal, the order a sealer round of a server still stopping
    # takes them in: TRUNCATE then waits for it instead of deadlocking with it (as
    # tests/conftest.py does)
    names = ", ".join(sorted((t.name for t in reversed(metadata.sorted_tables)),
                             key=lambda name: name == "ledger_seal"))
    with engine.begin() as conn:
        conn.execute(text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))


def create_database(admin_url: str, prefix: str) -> tuple[Engine, str, str]:
    """A new, empty database on the server of ``admin_url``: (admin engine, name, its URL)."""
    name = f"{prefix}_{uuid.uuid4().hex[:8]}"
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    return admin, name, admin_url.rsplit("/", 1)[0] + f"/{name}"


def drop_database(admin: Engine, name: str) -> None:
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


def wait_until(check: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.1)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}")


@dataclass
class Cluster:
    db_url: str
    stripe_base: str
    logs: Path
    settings: dict[str, str] = field(default_factory=dict)
    port: int = field(default_factory=free_port)
    procs: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def env(self) -> dict[str, str]:
        env = dict(os.environ)
        env.update({
            "REFUNDS_DATABASE_URL": self.db_url,
            "REFUNDS_STOREFRONT_SECRET": STOREFRONT_SECRET,
            "REFUNDS_STRIPE_API_KEY": "sk_live_fake",
            "REFUNDS_STRIPE_API_BASE": self.stripe_base,
            "REFUNDS_STRIPE_MAX_NETWORK_RETRIES": "0",
            "REFUNDS_STRIPE_TIMEOUT": "5",
            "REFUNDS_EXECUTOR_POLL": "0.1",
            "REFUNDS_EXECUTOR_BACKOFF_BASE": "0.05",
            "REFUNDS_EXECUTOR_BACKOFF_CAP": "0.5",
            "REFUNDS_LOG_LEVEL": "WARNING",
        })
        env.update(self.settings)
        return env

    def _spawn(self, name: str, args: list[str]) -> subprocess.Popen[bytes]:
        out = (self.logs / f"{name}.log").open("ab")
        proc = subprocess.Popen(
            REFUNDS + args, env=self.env(), stdout=out, stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        out.close()
        self.procs[name] = proc
        return proc

    def start_server(self, workers: int = 3, threads: int = 4) -> None:
        self._spawn("server", ["serve", "--no-executor", "--port", str(self.port),
                               "--workers", str(workers), "--threads", str(threads)])

        def up() -> bool:
            try:
                return requests.get(self.url + "/healthz", timeout=1).status_code == 200
            except requests.RequestException:
                return False

        wait_until(up, 60, f"the receiver on {self.url} (see {self.logs}/server.log)")

    def start_worker(self, name: str) -> subprocess.Popen[bytes]:
        return self._spawn(name, ["worker", "--worker-id", name])

    def kill(self, name: str) -> None:
        """SIGKILL a child and everything in its session (gunicorn's workers too)."""
        proc = self.procs.pop(name)
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(10)

    def close(self) -> None:
        for name in list(self.procs):
            self.kill(name)

    # --- talking to it ------------------------------------------------------------------------
    def post(self, session: requests.Session, payload: dict[str, Any]) -> requests.Response:
        body = dumps(payload)
        return session.post(
            self.url + "/webhooks/storefront", data=body, timeout=30,
            headers={"Refunds-Signature": signatures.sign(STOREFRONT_SECRET, body),
                     "Content-Type": "application/json"},
        )


def backlog(engine: Engine) -> int:
    with engine.connect() as conn:
        return int(conn.execute(
            select(func.count()).select_from(refund_attempts)
            .where(refund_attempts.c.status.in_(("pending", "in_progress")))
        ).scalar_one())


def chain_problem(engine: Engine) -> chain.ChainProblem | None:
    """The whole chain's first problem, once the processes' background sealers have sealed every
    entry (a writer is answered before its entries are sealed: ``ledger/seal.py``)."""
    wait_until(lambda: seal.unsealed(engine) == 0, 30, "every journal entry to be sealed")
    le = ledger_entries.c
    with engine.connect() as conn:
        rows = conn.execute(
            select(le.seq, le.entry_type, le.subject_id, le.body, le.prev_hash, le.hash)
            .order_by(le.seq)
        ).all()
    return chain.verify([tuple(r) for r in rows])
