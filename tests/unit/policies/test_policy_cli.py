"""``refunds policy check|explain`` as a merchant runs them."""

from __future__ import annotations

import json

from click.testing import CliRunner

from refunds_plugin.cli.policy import policy

NOW = "2026-06-01T12:00:00+00:00"


def run(*args: str):
    return CliRunner().invoke(policy, list(args))


def test_check_prints_the_rules_of_a_valid_preset_in_plain_words():
    result = run("check", "preset:no-hassle")
    assert result.exit_code == 0
    assert result.output.startswith("OK: preset:no-hassle is a valid policy named 'no-hassle'")
    assert "  - Returns are accepted any time (lifetime guarantee).\n" in result.output


def test_check_fails_with_the_field_and_expectation_of_an_invalid_file(tmp_path):
    path = tmp_path / "shop.yaml"
    path.write_text("window: {days: 30}\nfees: {restocking_percent: 120}\n")
    result = run("check", str(path))
    assert result.exit_code == 1
    assert result.output == (f"invalid policy {path}: fees.restocking_percent: expected a "
                             "percentage between 0 and 100, found 120\n")


def test_check_json_lists_each_problem(tmp_path):
    path = tmp_path / "shop.yaml"
    path.write_text("window: {days: soon}\n")
    result = run("check", str(path), "--json")
    assert (result.exit_code, json.loads(result.output)["problems"]) == (1, [
        {"path": "window.days", "expected": "expected a whole number of days (0 or more) or "
                                            "\"unlimited\", found 'soon'"}])


def test_explain_from_flags_shows_the_decision_and_every_rule():
    result = run("explain", "--policy", "preset:standard-30-day", "--price", "40.00",
                 "--reason", "changed_mind", "--now", NOW)
    assert result.exit_code == 0, result.output
    assert "outcome:     approve (approved)" in result.output
    assert "fees:        return_shipping 5.95 USD" in result.output
    assert "resolution:  refund 34.05 USD to pay-1" in result.output
    assert "\nabuse          pass     no_abuse_signal" in result.output


def test_explain_json_from_an_input_file_gives_exact_amounts(tmp_path):
    case = {"now": NOW,
            "facts": {"order_id": "1001", "currency": "EUR", "shipping_amount": 500,
                      "total_amount": 4500, "delivered_at": "2026-05-20T10:00:00+00:00",
                      "lines": [{"id": "a", "sku": "A", "name": "Mug", "quantity": 2,
                                 "unit_amount": 2000, "tags": ["final-sale"]}],
                      "payments": [{"provider": "stripe", "reference": "pi_9",
                                    "captured": 4500}]},
            "request": {"order_id": "1001", "preferred_resolution": "refund",
                        "lines": [{"line_id": "a", "quantity": 2, "reason": "too_large"}]}}
    path = tmp_path / "case.json"
    path.write_text(json.dumps(case))
    result = run("explain", "--policy", "preset:no-hassle", "--input", str(path), "--json")
    assert result.exit_code == 0, result.output
    d = json.loads(result.output)
    assert (d["outcome"], d["reason_code"], d["amount"], d["resolution"]) == (
        "approve", "approved", 4500, "credit")
    assert d["resolutions"] == [{"kind": "credit", "amount": 4500, "bonus": 0,
                                 "payment_reference": None}]


def test_explain_reads_the_case_from_standard_input_with_input_dash():
    case = {"now": NOW,
            "facts": {"order_id": "1001", "currency": "EUR", "shipping_amount": 500,
                      "total_amount": 4500, "delivered_at": "2026-05-20T10:00:00+00:00",
                      "lines": [{"id": "a", "sku": "A", "name": "Mug", "quantity": 2,
                                 "unit_amount": 2000}],
                      "payments": [{"provider": "stripe", "reference": "pi_9",
                                    "captured": 4500}]},
            "request": {"order_id": "1001", "preferred_resolution": "refund",
                        "lines": [{"line_id": "a", "quantity": 1, "reason": "too_large"}]}}
    result = CliRunner().invoke(policy, ["explain", "--policy", "preset:no-hassle", "--input",
                                         "-", "--json"], input=json.dumps(case))
    assert result.exit_code == 0, result.output
    d = json.loads(result.output)
    assert (d["outcome"], d["amount"], d["resolution"]) == ("approve", 2000, "refund")

    bad = CliRunner().invoke(policy, ["explain", "--input", "-"], input="{not json")
    assert bad.exit_code == 2
    assert "Invalid value for '--input': standard input: expected JSON text" in bad.output


def test_explain_refuses_an_invalid_policy():
    result = run("explain", "--policy", "preset:nope", "--now", NOW)
    assert result.exit_code == 1
    assert result.output == ("Error: invalid policy preset:nope: preset: expected one of "
                             "credit-first, default, no-hassle, standard-30-day, found 'nope'\n")
