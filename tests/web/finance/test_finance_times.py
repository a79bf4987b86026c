"""Every time finance reads by program is ISO 8601 in UTC with its offset, to the second, the
same on SQLite (which gives times back without a zone) and PostgreSQL: the decision and attempt
lists as JSON and CSV, `ledger export`, and the period of `ledger report --json`; the report's
table heads its period in words, as the insights do."""

from __future__ import annotations

import csv
import io
import json
import re
from datetime import UTC, datetime, timedelta

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
    report = CliRunner().invoke(main, ["ledger", "report", "--json"], env=env)

    rows = list(csv.DictReader(io.StringIO(exported.stdout)))
    assert rows and [r["created_at"] for r in rows if not STAMP.match(r["created_at"])] == []
    data = json.loads(report.stdout)
    assert [data[k] for k in ("since", "until") if not STAMP.match(data[k])] == [], data
    assert datetime.fromisoformat(data["until"]) - datetime.fromisoformat(data["since"]) == (
        timedelta(days=30))


def test_the_report_heads_its_period_in_words_as_the_insights_do(
    scene: Scene, any_db_url: str
) -> None:
    env = {"REFUNDS_DATABASE_URL": any_db_url}
    given = CliRunner().invoke(main, ["ledger", "report", "--since", "2026-11-01",
                                      "--until", "2026-11-24T12:30:00+00:00"], env=env)
    dated = CliRunner().invoke(main, ["ledger", "report", "--since", "2026-11-01",
                                      "--until", "2026-12-01"], env=env)
    to_now = CliRunner().invoke(main, ["ledger", "report", "--since", "2026-11-01"], env=env)
    by_days = CliRunner().invoke(main, ["ledger", "report", "--days", "7"], env=env)

    assert given.stdout.splitlines()[0] == "Ledger totals from 2026-11-01 to 2026-11-24 12:30 UTC"
    assert dated.stdout.splitlines()[0] == "Ledger totals from 2026-11-01 to 2026-12-01"
    heading = to_now.stdout.splitlines()[0]
    found = re.fullmatch(r"Ledger totals from 2026-11-01 to now \((\S+ \S+) UTC\)", heading)
    assert found, heading
    assert abs(datetime.fromisoformat(found.group(1) + "+00:00") - datetime.now(UTC)) < (
        timedelta(minutes=1))
    found = re.fullmatch(r"Ledger totals from (\S+ \S+) UTC to now \((\S+ \S+) UTC\)",
                         by_days.stdout.splitlines()[0])
    assert found, by_days.stdout
    since, until = (datetime.fromisoformat(g + "+00:00") for g in found.groups())
    assert until - since == timedelta(days=7)
