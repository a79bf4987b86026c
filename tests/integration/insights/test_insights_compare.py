"""``refunds policy compare`` and the finance page put a candidate beside the live policy over
the same history, agree with ``refunds policy simulate`` decision by decision, list the customers
who would get a worse answer, and refuse a candidate with mistakes in ``policy check``'s words.
Nothing changes: not the ledger, not the live policy."""

from __future__ import annotations

import csv
import io
import json
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from click.testing import CliRunner

import policies
from refunds_plugin.cli import main
from refunds_plugin.finance.simulation import replay
from refunds_plugin.finance.tokens import create_token
from refunds_plugin.insights.compare import rows
from refunds_plugin.insights.period import bound
from tests.fakes import Harness
from tests.fakes.finance_scene import csrf
from tests.fakes.insights_history import POLICY, History, _return

# a week instead of 30 days (later ones go to a person, not declined) and a 20 % fee:
# ann's return (12 days) goes to a person, bob's and cid's pay less, dan's is not declined
CANDIDATE = POLICY.replace("name: insights-test", "name: strict-test").replace(
    "window: {days: 30, start: payment, outside: decline}",
    "window: {days: 7, start: payment, outside: review}").replace(
    "restocking_percent: 10", "restocking_percent: 20")
BROKEN = POLICY.replace("days: 30", "days: -3")


def cli(h: Harness, *args: str) -> Any:
    return CliRunner().invoke(main, list(args), env={"REFUNDS_DATABASE_URL": h.db_url})


def test_compare_sides_money_and_worse_answers_agree_with_simulate_per_decision(
    shop: tuple[Harness, History], policy_file: Path, tmp_path: Path,
) -> None:
    h, history = shop
    candidate = tmp_path / "candidate.yaml"
    candidate.write_text(CANDIDATE, encoding="utf-8")
    out_csv = tmp_path / "differences.csv"
    result = cli(h, "policy", "compare", str(policy_file), str(candidate), "--since",
                 "2026-05-01", "--csv", str(out_csv), "--json")
    assert result.exit_code == 0, result.output
    doc = json.loads(result.output)
    assert (doc["compared"], doc["differ"], doc["worse_count"], doc["unreadable"]) == (4, 4, 3, 0)
    assert {k: doc["current"][k] for k in ("decided", "without_person", "without_person_bp",
                                           "declines", "reviews", "money")} == {
        "decided": 4, "without_person": 4, "without_person_bp": 10000, "declines": 1,
        "reviews": 0,
        "money": [{"currency": "USD", "refund": 5720, "credit": 4500, "bonus": 450, "fees": 580}]}
    assert {k: doc["candidate"][k] for k in ("decided", "without_person", "declines", "reviews",
                                             "money")} == {
        "decided": 4, "without_person": 2, "declines": 0, "reviews": 2,
        # bob's shirt (asked 7 days after paying, within the week by the day): 50.00 less a
        # 20 % fee as credit, with its 10 % bonus; cid's sock: 8.00 less a 20 % fee
        "money": [{"currency": "USD", "refund": 640, "credit": 4000, "bonus": 400,
                   "fees": 1160}]}
    assert sorted((w["order_id"], w["customer"], w["current_outcome"], w["candidate_outcome"])
                  for w in doc["worse"]) == [
        ("o-1", "ann@example.com", "approve", "review"),
        ("o-2", "bob@example.com", "approve", "approve"),
        ("o-3", "cid@example.com", "approve", "approve")]

    assert doc["since"] == "2026-05-01T00:00:00+00:00"
    assert doc["period"] == f"2026-05-01 to now ({bound(datetime.fromisoformat(doc['until']))})"

    text = cli(h, "policy", "compare", str(policy_file), str(candidate), "--since", "2026-05-01")
    assert text.exit_code == 0, text.output
    head, counts = text.output.splitlines()[:2]
    assert re.fullmatch(r"Return decisions from 2026-05-01 to now \(\d{4}-\d\d-\d\d "
                        r"\d\d:\d\d(:\d\d)? UTC\)", head), head
    assert counts == ("compared 4 decision(s): 4 answered differently, 3 worse for the "
                      "customer, 0 unreadable")
    worse = text.output.split("worse for the customer:\n", 1)[1].splitlines()
    assert sorted(tuple(part.strip() for part in re.split(r"\s{2,}", line)[2:])
                  for line in worse[1:]) == [  # never minor units; bonus and fees shown
        ("approve: refund 0.00 USD, credit 45.00 USD + bonus 4.50 USD, fees 5.00 USD",
         "approve: refund 0.00 USD, credit 40.00 USD + bonus 4.00 USD, fees 10.00 USD"),
        ("approve: refund 50.00 USD, credit 0.00 USD",
         "review: refund 50.00 USD, credit 0.00 USD"),
        ("approve: refund 7.20 USD, credit 0.00 USD, fees 0.80 USD",
         "approve: refund 6.40 USD, credit 0.00 USD, fees 1.60 USD")]

    # all history up to a time: said so, in words and in the JSON
    upto = cli(h, "policy", "compare", str(policy_file), str(candidate), "--until",
               "2026-06-15T12:30")
    assert upto.output.splitlines()[0] == (
        "Return decisions from the first stored to 2026-06-15 12:30 UTC")
    upto_json = json.loads(cli(h, "policy", "compare", str(policy_file), str(candidate),
                               "--until", "2026-06-15T12:30", "--json").output)
    assert (upto_json["since"], upto_json["until"], upto_json["period"]) == (
        None, "2026-06-15T12:30:00+00:00", "the first stored to 2026-06-15 12:30 UTC")

    simulated = cli(h, "policy", "simulate", str(candidate), "--since", "2026-05-01", "--json")
    assert simulated.exit_code == 0, simulated.output
    after = {c["decision_id"]: c["after"] for c in json.loads(simulated.output)["changes"]}
    written = {r["decision_id"]: r for r in csv.DictReader(
        io.StringIO(out_csv.read_text(encoding="utf-8")))}
    assert set(written) == set(after) == set(history.decisions.values())
    for decision_id, sim in after.items():
        row = written[decision_id]
        assert (row["candidate_outcome"], int(row["candidate_refund"]),
                int(row["candidate_credit"]) + int(row["candidate_bonus"])) == (
            sim["outcome"], sim["refund_amount"], sim["credit_amount"])


def test_until_now_is_fixed_when_asked_so_a_later_decision_is_not_counted(
    shop: tuple[Harness, History], policy_file: Path, tmp_path: Path,
) -> None:
    # a return decided after the moment the question is asked (here: a host whose clock runs
    # years ahead) is outside "until now", in the counts as in the period stated
    h, _ = shop
    h.clock.now = datetime(2099, 1, 2, 9, 0, tzinfo=UTC)
    assert _return(h, "r-late", "o-8", "l1", "changed_mind", "refund")["outcome"] == "decline"
    candidate = tmp_path / "candidate.yaml"
    candidate.write_text(CANDIDATE, encoding="utf-8")
    asked = datetime.now(UTC)
    result = cli(h, "policy", "compare", str(policy_file), str(candidate), "--json")
    assert result.exit_code == 0, result.output
    doc = json.loads(result.output)
    until = datetime.fromisoformat(doc["until"])
    assert asked < until <= asked.replace(microsecond=0) + timedelta(seconds=2)
    assert doc["period"] == f"the first stored to now ({bound(until)})"
    assert (doc["compared"], doc["differ"]) == (4, 4)
    # asked up to a later time, the late one is counted
    later = cli(h, "policy", "compare", str(policy_file), str(candidate), "--until", "2100-01-01",
                "--json")
    assert json.loads(later.output)["compared"] == 5


def test_a_csv_path_that_cannot_be_written_is_one_line_naming_it_before_any_replay(
    policy_file: Path, tmp_path: Path,
) -> None:
    # no ledger at all: the path is refused before the ledger is opened or anything replayed
    result = CliRunner().invoke(main, [
        "policy", "compare", str(policy_file), "preset:credit-first", "--csv",
        "/nonexistent/dir/x.csv"], env={"REFUNDS_DATABASE_URL": f"sqlite:///{tmp_path}/no.db"})
    assert result.exit_code == 2
    assert result.output == "Error: --csv /nonexistent/dir/x.csv: No such file or directory\n"
    assert result.exception is None or isinstance(result.exception, SystemExit)
    assert not (tmp_path / "no.db").exists()


def test_a_current_policy_other_than_the_stored_one_is_decided_again_as_simulate_does(
    shop: tuple[Harness, History],
) -> None:
    h, _ = shop
    default = policies.load_policy("preset:default")
    candidate = policies.load_policy_text(CANDIDATE, "candidate.yaml")
    simulated = {c.decision_id: c.new for c in replay(h.runtime.engine, default)}
    compared = list(rows(h.runtime.engine, default, candidate))
    assert len(compared) == len(simulated) == 4
    for row in compared:
        sim = simulated[row.comparison.decision_id]
        assert sim is not None and row.current is not None
        assert (row.current.outcome, row.current.refund,
                row.current.credit + row.current.bonus) == (
            sim.outcome.value, sim.refund_amount, sim.credit_amount)


def test_the_finance_page_compares_an_uploaded_candidate_and_exports_each_difference(
    shop: tuple[Harness, History], tmp_path: Path,
) -> None:
    h, _ = shop
    live = h.runtime.policy.content_hash
    token = create_token(h.runtime.engine, "Fin", "finance", h.clock()).secret
    client = h.client()
    login = client.post("/finance/login", data={"token": token,
                                                "csrf_token": csrf(client, "/finance/login")})
    assert login.status_code == 303
    form = {"csrf_token": csrf(client, "/finance/insights/compare"), "since": "2026-05-01",
            "until": "2026-06-15"}
    page = client.post("/finance/insights/compare", data={
        **form, "file": (io.BytesIO(CANDIDATE.encode()), "strict.yaml")},
        content_type="multipart/form-data")
    html = page.get_data(as_text=True)
    assert page.status_code == 200, html
    assert "4 decision(s) compared, 4 answered differently, 3 worse for the customer" in html
    assert "cid@example.com" in html
    # the worse answers as the command words them: the bonus and the fees are not hidden
    assert ('<td data-label="Customer">bob@example.com</td><td data-label="Live">approve: '
            "refund 0.00 USD, credit 45.00 USD + bonus 4.50 USD, fees 5.00 USD</td>"
            '<td data-label="Candidate">approve: refund 0.00 USD, credit 40.00 USD + bonus '
            "4.00 USD, fees 10.00 USD</td>") in html
    download = client.post("/finance/insights/compare", data={
        **form, "format": "csv", "policy_text": CANDIDATE})
    assert download.status_code == 200 and download.mimetype == "text/csv"
    exported = list(csv.DictReader(io.StringIO(download.get_data(as_text=True))))
    assert sorted(r["order_id"] for r in exported) == ["o-1", "o-2", "o-3", "o-4"]
    assert h.runtime.policy.content_hash == live


def test_a_candidate_with_mistakes_is_refused_in_policy_checks_words(
    shop: tuple[Harness, History], policy_file: Path, tmp_path: Path,
) -> None:
    h, _ = shop
    broken = tmp_path / "broken.yaml"
    broken.write_text(BROKEN, encoding="utf-8")
    checked = cli(h, "policy", "check", str(broken))
    assert checked.exit_code == 1
    words = checked.output.strip()
    assert words.startswith("invalid policy") and "window.days" in words
    compared = cli(h, "policy", "compare", str(policy_file), str(broken))
    assert compared.exit_code == 1
    assert words in compared.output
    # --json: the problems as `policy check --json` prints them, naming the argument
    checked_json = cli(h, "policy", "check", str(broken), "--json")
    compared_json = cli(h, "policy", "compare", str(policy_file), str(broken), "--json")
    assert (checked_json.exit_code, compared_json.exit_code) == (1, 1)
    problems = json.loads(checked_json.output)
    assert problems["valid"] is False and problems["problems"]
    assert json.loads(compared_json.output) == {"argument": "CANDIDATE", **problems}

    token = create_token(h.runtime.engine, "Fin", "finance", h.clock()).secret
    api = h.client().post("/api/insights/compare", data=BROKEN.encode(),
                          headers={"Authorization": f"Bearer {token}"})
    assert api.status_code == 400
    assert api.get_json()["error"]["message"] == words.replace(str(broken), "candidate.yaml")
