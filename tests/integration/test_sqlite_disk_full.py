"""SQLite's disk full: events are answered 5xx (the sender retries), nothing half-written is
left behind (integrity check, the hash chain), and once space returns ``refunds ledger verify``
passes and the same deliveries are taken.

The file system is a small tmpfs the test mounts (root only); where mounting is not permitted
the test skips with the reason, unless ``CI`` is set.
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import text

from refunds_plugin.cli import main
from tests.fakes import Clock, Harness, order_paid, return_requested


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    mount = tmp_path / "small"
    mount.mkdir()
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=4m", "tmpfs", str(mount)],
                          capture_output=True, text=True)
    if done.returncode != 0:
        reason = f"cannot mount a small tmpfs here: {done.stderr.strip() or done.returncode}"
        if os.environ.get("CI"):
            pytest.fail(f"CI is set but {reason}")
        pytest.skip(reason)
    yield mount
    subprocess.run(["umount", "-l", str(mount)], check=False)


def _fill(mount: Path, leave: int) -> Path:
    """A file that takes all of the file system's space but ``leave`` bytes."""
    st = os.statvfs(mount)
    filler = mount / "filler"
    with filler.open("wb") as fh:
        fh.write(b"\0" * max(0, st.f_bavail * st.f_frsize - leave))
    return filler


def test_a_full_disk_answers_5xx_keeps_the_ledger_whole_and_verify_passes_after(
    small_disk: Path, clock: Clock
) -> None:
    url = f"sqlite:///{small_disk / 'refunds.db'}"
    h = Harness(url, clock)
    assert h.post_storefront(order_paid("1001")).status_code == 200
    taken_before = h.money_rows()
    filler = _fill(small_disk, leave=8 * 1024)
    answers = []
    for n in range(40):
        resp = h.post_storefront(order_paid(f"full-{n}", event_id=f"evt_full_{n}",
                                            customer={"id": "c", "email": "x" * 40 + "@e.com"}))
        answers.append(resp.status_code)
        if resp.status_code >= 500:
            break
    assert answers[-1] >= 500, answers  # the disk filled up: refused, for the sender to retry
    assert all(code in (200, 500, 503) for code in answers)
    full_at = len(answers) - 1
    refused = order_paid(f"full-{full_at}", event_id=f"evt_full_{full_at}",
                         customer={"id": "c", "email": "x" * 40 + "@e.com"})
    assert h.post_storefront(return_requested("r-full", "1001")).status_code >= 500

    filler.unlink()  # space returns
    with h.runtime.engine.connect() as conn:
        assert conn.execute(text("PRAGMA integrity_check")).scalar_one() == "ok"
    assert h.chain_problem() is None
    assert h.money_rows()["events"] == taken_before["events"] + full_at  # the 2xx ones only
    assert h.post_storefront(refused).status_code == 200  # the redelivery is taken now
    assert h.post_storefront(return_requested("r-full", "1001")).status_code == 201
    h.close()
    result = CliRunner().invoke(main, ["ledger", "verify"], env={"REFUNDS_DATABASE_URL": url})
    assert result.exit_code == 0, result.output
    assert "ledger verified" in result.output
