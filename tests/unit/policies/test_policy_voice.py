"""What ``refunds policy`` prints is said in words: ``explain`` never shows a Python exception's
repr, and ``check`` never prints a dash for a missing amount or "up to no limit"."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from click.testing import CliRunner

from policies import list_presets
from refunds_plugin.cli import main

REPR = re.compile(r"\b[A-Z][A-Za-z]*(Error|Exception)\(")


def run(*args: str) -> object:
    return CliRunner().invoke(main, ["policy", *args])


@pytest.mark.parametrize(("args", "said"), [
    (["--price", "abc"], "Error: Invalid value for '--price': expected an amount in USD such as "
                         "25.00, found 'abc' (not a decimal amount: 'abc')"),
    (["--currency", "XYZ"], "Error: Invalid value for '--currency': expected an ISO 4217 code "
                            "such as USD, found 'XYZ'"),
    (["--total-paid", "1.234"], "Error: Invalid value for '--total-paid': expected an amount in "
                                "USD such as 25.00, found '1.234' (1.234 has more decimals than "
                                "USD allows (2))"),
    # a negative amount or count is no order: refused, never decided as one
    (["--price", "-5"], "Error: Invalid value for '--price': expected an amount of 0 or more in "
                        "USD such as 25.00, found '-5'"),
    (["--shipping", "-3"], "Error: Invalid value for '--shipping': expected an amount of 0 or "
                           "more in USD such as 25.00, found '-3'"),
    (["--ordered", "-1"], "Error: Invalid value for '--ordered': -1 is not in the range x>=1."),
    (["--returned", "-1"], "Error: Invalid value for '--returned': -1 is not in the range x>=0."),
    # the example is an amount the currency has: no decimals in JPY, three in KWD
    (["--currency", "jpy", "--price", "25.5"], "Error: Invalid value for '--price': expected an "
     "amount in JPY such as 25, found '25.5' (25.5 has more decimals than JPY allows (0))"),
    (["--currency", "KWD", "--price", "-1.000"], "Error: Invalid value for '--price': expected an "
     "amount of 0 or more in KWD such as 25.000, found '-1.000'"),
])
def test_explain_says_which_flag_is_wrong_in_words(args: list[str], said: str) -> None:
    result = run("explain", *args)
    assert result.exit_code == 2
    assert result.output.splitlines()[-1] == said
    assert not REPR.search(result.output)


@pytest.mark.parametrize(("content", "said"), [
    ("[1]", 'expected an object {"now", "facts", "request"}, found list'),
    ('{"facts": {}}', "expected an object under 'request', found request=None"),
    ('{"facts": {}, "request": {}}', "expected a field 'order_id', found it missing"),
    ('{"now": "soon", "facts": {}, "request": {}}', "now: expected an ISO 8601 date such as "
     "2026-11-01 or a datetime such as 2026-11-01T10:00:00Z, found 'soon'"),
    ("{not json", "expected JSON text, found Expecting property name enclosed in double quotes: "
                  "line 1 column 2 (char 1)"),
])
def test_explain_names_what_is_wrong_in_an_input_file(tmp_path: Path, content: str,
                                                      said: str) -> None:
    case = tmp_path / "case.json"
    case.write_text(content, encoding="utf-8")
    result = run("explain", "--input", str(case))
    assert result.exit_code == 2
    assert result.output.splitlines()[-1] == f"Error: Invalid value for '--input': {case}: {said}"
    assert not REPR.search(result.output)


ODD = 'currency: USD\nwindow: {days: 30}\nlimits: {auto_approve_per_order: "100.00"}\n' \
      'resolution: {keep_item: {return_label_cost: "6.00"}, credit_bonus_percent: 10}\n'


def test_check_says_every_limit_in_words(tmp_path: Path) -> None:
    odd = tmp_path / "odd.yaml"
    odd.write_text(ODD, encoding="utf-8")
    outputs = {spec: run("check", spec).output for spec in
               [*(f"preset:{p}" for p in list_presets()), str(odd)]}
    for spec, out in outputs.items():
        for bad in ("(—)", "—", "up to no limit", "and no limit", "at most no limit"):
            assert bad not in out, (spec, bad)
    lines = outputs[str(odd)].splitlines()
    assert "  - Approved automatically up to 100.00 USD per order; no limit per request; above "\
           "that a person reviews." in lines
    assert "  - Choosing store credit earns a 10% bonus (no maximum)." in lines
    assert "  - Customers keep items whose return label (6.00 USD) would cost more than the item." \
        in lines
    default = outputs["preset:default"].splitlines()
    assert "  - Approved automatically at any amount: no limit per request or per order." \
        in default


def test_check_json_problems_are_in_one_voice(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("window: {days: 30, outsid: review}\nabuse: {max_refunds: five}\n")
    result = run("check", str(bad), "--json")
    problems = json.loads(result.output)["problems"]
    assert result.exit_code == 1
    assert all(p["expected"].startswith("expected ") and ", found " in p["expected"]
               for p in problems), problems
