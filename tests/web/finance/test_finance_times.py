"""Every time finance reads by program is ISO 8601 in UTC with its offset, to the second, the
same on SQLite (which gives times back without a zone) and PostgreSQL: the decision and attempt
lists as JSON and CSV, `ledger export`, and the period `ledger report` prints."""

from __future__ import annotations

import csv
import io
import json
import re

from click.testing import CliRunner

from refunds_plugin.cli import main
from tests.fakes.finance_scene import Scene

STAMP = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\+00:00$")
DECISION_TIMES = ("created_at", "review_decided_at")
ATTEMPT_TIMES = ("created_at", "completed_at")


def _get(scene: Scene, path: str) -> str:
    resp = scene.shop.app.test_client().get(path, headers={
        "Authorization": f"Bearer {scene.finance}"})
    assert resp.status_code == 200, resp.get_data(as_text=True)
    return resp.get_data(as_text=True)


def _times(rows: list[dict[str, str | None]], keys: tuple[str, ...]) -> list[str]:
    return [str(r[k]) for r in rows for k in keys if r[k] not in (None, "")]


def test_api_lists_and_csv_write_every_time_with_its_utc_offset(scene: Scene) -> None:
    decisions = json.loads(_get(scene, "/api/decisions"))["data"]
    attempts = json.loads(_get(scene, "/api/attempts"))["data"]
    decisions_csv = list(csv.DictReader(io.StringIO(_get(scene, "/api/decisions?format=csv"))))
    attempts_csv = list(csv.DictReader(io.StringIO(_get(scene, "/api/attempts?format=csv"))))

    stamps = (_times(decisions, DECISION_TIMES) + _times(attempts, ATTEMPT_TIMES)
              + _times(decisions_csv, DECISION_TIMES) + _times(attempts_csv, ATTEMPT_TIMES))
    assert len(stamps) >= len(decisions) * 2 + len(attempts) * 2
    assert [s for s in stamps if not STAMP.match(s)] == []
    assert sorted((r["order_id"], r["created_at"]) for r in decisions_csv) == [
        ("o-1", "2026-11-24T12:00:00+00:00"), ("o-2", "2026-11-24T12:00:00+00:00")]
    assert [(r["created_at"], r["completed_at"]) for r in attempts] == [
        ("2026-11-24T12:00:00+00:00", "2026-11-24T14:00:00+00:00")]


def test_ledger_export_and_report_write_times_with_their_offset_and_no_microseconds(
    scene: Scene, any_db_url: str
) -> None:
    env = {"REFUNDS_DATABASE_URL": any_db_url}
    exported = CliRunner().invoke(main, ["ledger", "export", "--format", "csv"], env=env)
    report = CliRunner().invoke(main, ["ledger", "report"], env=env)

    rows = list(csv.DictReader(io.StringIO(exported.stdout)))
    assert rows and [r["created_at"] for r in rows if not STAMP.match(r["created_at"])] == []
    period = report.stdout.splitlines()[0]
    assert re.fullmatch(r"period (\S+) \.\. (\S+)", period), period
    assert [p for p in period.split()[1::2] if not STAMP.match(p)] == [], period
