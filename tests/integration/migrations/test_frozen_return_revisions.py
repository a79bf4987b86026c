"""Revisions 0019, 0023, 0026, 0027 and 0028 do to an old ledger what they did when they were
written, whatever today's code says: each test writes, at the revision before, the rows the code
of then left, upgrades one revision and reads the exact rows it left, on SQLite and PostgreSQL.

Where today's ``ledger/line_index.py`` would write other figures (0019 and 0023 predate the cap
and the rounding cuts they leave alone), the test says so: a revision that called the app's code
again would fail it."""

from __future__ import annotations

import json
from datetime import timedelta

from tests.fakes.old_ledger import T0, OldLedger, at, canonical, day

LINE = ("decision_id", "line_id", "amount")
FIGURES = ("decision_id", "fees", "bonus", "kept")
ASKED = {"lines": [{"line_id": "a", "quantity": 1, "reason": "too_small"},
                   {"line_id": "b", "quantity": 1, "reason": "wrong_size"}]}


def _indexed(ledger: OldLedger, decision_id: str, order_id: str, amounts: dict[str, int],
             customer: str | None, fees: int = 0, kept: int = 0) -> None:
    """The insight rows the code of then wrote for a return (0009's tables)."""
    for line_id, amount in amounts.items():
        ledger.put("return_lines", decision_id=decision_id, line_id=line_id, order_id=order_id,
                   quantity=1, reason="too_small", amount=amount, kept=0, at=at(T0))
    ledger.put("return_figures", decision_id=decision_id, customer=customer, currency="EUR",
               fees=fees, bonus=0, kept=kept, at=at(T0))


def _approved(ledger: OldLedger, decision_id: str, *bodies: dict[str, object]) -> None:
    """``review_decided`` entries, as the journal keeps them (oldest first)."""
    for body in bodies:
        ledger.put("ledger_entries", entry_type="review_decided", subject_id=decision_id,
                   body=canonical(body), created_at=T0)


def test_0019_spreads_an_approval_over_the_lines_as_the_policy_gave_them(
        old_ledger: OldLedger) -> None:
    old_ledger.upgrade("0018")
    body = {"currency": "EUR", "amount": 4200,
            "lines": [{"line_id": "a", "amount": 3000, "return_required": False},
                      {"line_id": "b", "amount": 2000}],
            "fees": [{"code": "restocking", "amount": 500}, {"code": "label", "amount": 300}],
            "exchange": {"lines": [{"line_id": "b"}]},
            # today's code would take these 7 off the lines first; 0019 predates that
            "trace": [{"rule": "rounding", "saw": {"not_refunded": 7}}]}
    for d in ("A1", "A2", "A3"):
        old_ledger.decision(d, "o-1", body, ASKED)
        _indexed(old_ledger, d, "o-1", {"a": 3000, "b": 2000}, f"{d.lower()}@example.com",
                 fees=800, kept=3000)
    old_ledger.put("reviews", decision_id="A1", status="approved", adjusted_amount=3500,
                   opened_at=T0)
    old_ledger.put("reviews", decision_id="A2", status="approved", adjusted_amount=3500,
                   opened_at=T0)  # no entry says how: left as it is
    old_ledger.put("reviews", decision_id="A3", status="approved", opened_at=T0)
    _approved(old_ledger, "A1", {"adjusted": {"amount": 1, "bonus": 0}},
              {"adjusted": {"amount": 3500, "fees_waived": ["label"], "bonus": 250}},
              {"status": "approved"})  # the last entry with an ``adjusted`` body counts
    _approved(old_ledger, "A2", {"status": "approved"})

    old_ledger.upgrade("0019")

    # A1 gives 3500 + 500 kept back where the policy gave 4200 + 800: 1000 less, all off line a
    # (line b is exchanged)
    assert old_ledger.rows("return_lines", *LINE) == [
        ("A1", "a", 2000), ("A1", "b", 2000), ("A2", "a", 3000), ("A2", "b", 2000),
        ("A3", "a", 3000), ("A3", "b", 2000)]
    assert old_ledger.rows("return_figures", *FIGURES) == [
        ("A1", 500, 250, 2000), ("A2", 800, 0, 3000), ("A3", 800, 0, 3000)]
    assert old_ledger.rows("insight_marks", "day", "customer") == [(day(T0), "a1@example.com")]


def test_0023_takes_the_rounding_off_the_lines_and_nothing_else(old_ledger: OldLedger) -> None:
    old_ledger.upgrade("0022")
    rounded = [{"rule": "rounding", "saw": {"not_refunded": 5}}]
    old_ledger.decision("K1", "o-1", {"currency": "KWD", "amount": 18500,
                                      "lines": [{"line_id": "a", "amount": 20005}],
                                      "fees": [{"code": "restocking", "amount": 1500}],
                                      "trace": rounded}, ASKED)
    # capped too: 0028 takes the cap off later; 0023 leaves it (today's code would not)
    old_ledger.decision("K2", "o-1", {"currency": "KWD", "amount": 19000,
                                      "lines": [{"line_id": "a", "amount": 10005},
                                                {"line_id": "b", "amount": 10000}],
                                      "trace": [{"rule": "refundable_cap",
                                                 "saw": {"over_by": 1000}}, *rounded]}, ASKED)
    old_ledger.decision("K3", "o-1", {"currency": "KWD", "amount": 18500,
                                      "lines": [{"line_id": "a", "amount": 20005}],
                                      "fees": [{"code": "restocking", "amount": 1500}],
                                      "trace": rounded}, ASKED)
    old_ledger.decision("K4", "o-1", {"currency": "KWD", "amount": 777,
                                      "lines": [{"line_id": "a", "amount": 777}]}, ASKED)
    _indexed(old_ledger, "K1", "o-1", {"a": 20005}, "k1@example.com", fees=1500)
    _indexed(old_ledger, "K2", "o-1", {"a": 10005, "b": 10000}, "k2@example.com")
    _indexed(old_ledger, "K3", "o-1", {"a": 20005}, "k3@example.com", fees=1500)
    _indexed(old_ledger, "K4", "o-1", {"a": 777}, "k4@example.com")
    _approved(old_ledger, "K3", {"adjusted": {"amount": 19000, "fees_waived": ["restocking"],
                                              "bonus": 500}})

    old_ledger.upgrade("0023")

    # K2: 5 off 20005 in proportion, the remainder to the larger share (line b)
    assert old_ledger.rows("return_lines", *LINE) == [
        ("K1", "a", 20000), ("K2", "a", 10002), ("K2", "b", 9998), ("K3", "a", 19000),
        ("K4", "a", 777)]
    assert old_ledger.rows("return_figures", *FIGURES) == [
        ("K1", 1500, 0, 0), ("K2", 0, 0, 0), ("K3", 0, 500, 0), ("K4", 0, 0, 0)]
    assert old_ledger.rows("insight_marks", "day", "customer") == [
        (day(T0), f"k{n}@example.com") for n in (1, 2, 3)]


def test_0026_marks_the_days_of_returns_a_person_declined_after_the_policy_approved(
        old_ledger: OldLedger) -> None:
    old_ledger.upgrade("0025")
    later = T0 + timedelta(days=3)
    for d, outcome in (("B1", "approve"), ("B2", "approve"), ("B3", "approve"),
                       ("B4", "review")):
        old_ledger.decision(d, "o-1", {"currency": "EUR", "amount": 100}, outcome=outcome)
        old_ledger.put("return_figures", decision_id=d, customer=f"{d.lower()}@example.com",
                       currency="EUR", fees=0, bonus=0, kept=0, at=at(later))
    for d, status in (("B1", "declined"), ("B2", "approved"), ("B4", "declined")):
        old_ledger.put("reviews", decision_id=d, status=status, opened_at=T0)

    old_ledger.upgrade("0026")

    assert old_ledger.rows("insight_marks", "day", "customer") == [
        (day(later), "b1@example.com")]


NOT_TOLD = ("Saleor was not told of return {d} of {order}: {error}. The return is approved and "
            "the customer has their answer, but Saleor's order does not show the items as "
            "returned: record the return in the Saleor dashboard (check the order's fulfillments "
            "for a Returned one this service made first), then mark it recorded here.")


def test_0027_opens_a_follow_up_for_each_saleor_return_that_failed_before_it(
        old_ledger: OldLedger) -> None:
    old_ledger.upgrade("0026")
    old_ledger.put("orders", order_id="o-1", source="saleor", currency="EUR", total_amount=5000,
                   shipping_amount=0, lines="[]", updated_at=T0,
                   extra=json.dumps({"saleor": {"order_number": 1042}}))
    old_ledger.put("orders", order_id="o-3", source="saleor", currency="EUR", total_amount=5000,
                   shipping_amount=0, lines="[]", updated_at=T0, extra="not json")
    for d, order_id, status, error, hours in (
            ("S1", "o-1", "failed", "Saleor said: no such fulfillment", 1),
            ("S2", "o-2", "failed", None, 2),  # no order row: its id names it
            ("S3", "o-3", "failed", "timed out", 3),  # an unreadable extra: the id alone
            ("S4", "o-1", "done", None, 4)):
        old_ledger.decision(d, order_id, {"currency": "EUR", "amount": 100})
        old_ledger.put("saleor_returns", decision_id=d, order_id=order_id, lines="[]",
                       status=status, last_error=error, next_try_at=T0, created_at=T0,
                       updated_at=T0 + timedelta(hours=hours))

    old_ledger.upgrade("0027")

    assert old_ledger.rows("follow_ups", "kind", "order_id", "subject", "payment_reference",
                           "currency", "amount", "customer_email", "detail", "status",
                           "created_at", "cleared_at") == [
        ("saleor_return_failed", order_id, d, None, None, None, None,
         NOT_TOLD.format(d=d, order=order, error=error), "open", T0 + timedelta(hours=hours),
         None)
        for d, order_id, order, error, hours in (
            ("S1", "o-1", "order 1042 (o-1)", "Saleor said: no such fulfillment", 1),
            ("S2", "o-2", "order o-2", "no error was recorded", 2),
            ("S3", "o-3", "order o-3", "timed out", 3))]


def test_0028_takes_the_refundable_cap_off_the_lines(old_ledger: OldLedger) -> None:
    old_ledger.upgrade("0027")
    cap = {"rule": "refundable_cap", "saw": {"over_by": 1000}}
    old_ledger.decision("C1", "o-1", {"currency": "EUR", "amount": 1500, "trace": [cap],
                                      "lines": [{"line_id": "a", "amount": 1500},
                                                {"line_id": "b", "amount": 1000}]}, ASKED)
    old_ledger.decision("C2", "o-1", {"currency": "KWD", "amount": 19000,
                                      "lines": [{"line_id": "a", "amount": 10005},
                                                {"line_id": "b", "amount": 10000}],
                                      "trace": [cap, {"rule": "rounding",
                                                      "saw": {"not_refunded": 5}}]}, ASKED)
    old_ledger.decision("C3", "o-1", {"currency": "EUR", "amount": 1500, "trace": [cap],
                                      "lines": [{"line_id": "a", "amount": 1500},
                                                {"line_id": "b", "amount": 1000}]}, ASKED)
    old_ledger.decision("C4", "o-1", {"currency": "KWD", "amount": 20000,
                                      "lines": [{"line_id": "a", "amount": 20005}],
                                      "trace": [{"rule": "rounding",
                                                 "saw": {"not_refunded": 5}}]}, ASKED)
    _indexed(old_ledger, "C1", "o-1", {"a": 1500, "b": 1000}, "c1@example.com")
    _indexed(old_ledger, "C2", "o-1", {"a": 10005, "b": 10000}, "c2@example.com")
    _indexed(old_ledger, "C3", "o-1", {"a": 1500, "b": 1000}, "c3@example.com")
    _indexed(old_ledger, "C4", "o-1", {"a": 20005}, "c4@example.com")
    # a person approved 2000 of what the lines were worth before the cap (2500), 200 bonus
    _approved(old_ledger, "C3", {"adjusted": {"amount": 2000, "bonus": 200}})

    old_ledger.upgrade("0028")

    # C2: 1005 off 20005 (cap and rounding), the remainder to the larger share (line b); C4 is
    # 0023's, not this revision's
    assert old_ledger.rows("return_lines", *LINE) == [
        ("C1", "a", 900), ("C1", "b", 600), ("C2", "a", 9502), ("C2", "b", 9498),
        ("C3", "a", 1200), ("C3", "b", 800), ("C4", "a", 20005)]
    assert old_ledger.rows("return_figures", *FIGURES) == [
        ("C1", 0, 0, 0), ("C2", 0, 0, 0), ("C3", 0, 200, 0), ("C4", 0, 0, 0)]
    assert old_ledger.rows("insight_marks", "day", "customer") == [
        (day(T0), f"c{n}@example.com") for n in (1, 2, 3)]
