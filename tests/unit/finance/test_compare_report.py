"""``policy compare``'s figures: each currency on both sides, times as the ledger export
writes them; which answers are worse for the customer."""

from __future__ import annotations

from datetime import UTC, datetime

from refunds_plugin.finance.simulation import Comparison
from refunds_plugin.insights.compare import Answer, Report, Row, worse

AT = datetime(2026, 11, 24, 12, 0, 5, 123456, tzinfo=UTC)


def _row(currency: str, current: Answer, candidate: Answer) -> Row:
    c = Comparison(decision_id="d-" + currency, order_id="1001", request_id="r-1",
                   created_at=AT, currency=currency, old_outcome=current.outcome,
                   old_amount=current.total, old_refund=current.refund, old_credit=0,
                   old_reason="ok", new=None)
    return Row(c, current, candidate)


def test_a_currency_only_one_side_pays_in_is_shown_with_0_on_the_other() -> None:
    report = Report("current", "candidate")
    report.add(_row("EUR", Answer("decline", 0, 0, 0, 0), Answer("approve", 2500, 0, 0, 0)))
    report.add(_row("USD", Answer("approve", 1000, 0, 0, 0), Answer("approve", 900, 0, 0, 0)))

    doc = report.to_json()

    zero = {"refund": 0, "credit": 0, "bonus": 0, "fees": 0}
    assert doc["current"]["money"] == [
        {"currency": "EUR", **zero}, {"currency": "USD", **zero, "refund": 1000}]
    assert doc["candidate"]["money"] == [
        {"currency": "EUR", **zero, "refund": 2500}, {"currency": "USD", **zero, "refund": 900}]


def test_decided_at_is_written_to_the_second_as_the_ledger_export_writes_it() -> None:
    row = _row("EUR", Answer("approve", 1, 0, 0, 0), Answer("approve", 1, 0, 0, 0))
    assert row.to_csv()["decided_at"] == "2026-11-24T12:00:05+00:00"
    assert row.comparison.to_dict()["decided_at"] == "2026-11-24T12:00:05+00:00"  # simulate


def test_a_refund_turned_into_credit_is_worse_even_with_a_bonus_that_makes_it_more() -> None:
    refund = Answer("approve", 5000, 0, 0, 0)
    credit_with_bonus = Answer("approve", 0, 5000, 500, 0)
    assert worse(refund, credit_with_bonus)  # 55.00 in credit is not 50.00 back on the card
    assert worse(credit_with_bonus, refund)  # money back instead, but 5.00 less in all
    assert worse(refund, Answer("approve", 4000, 1000, 100, 0))  # part of it as credit
    assert not worse(refund, Answer("approve", 5000, 0, 0, 0))
    assert worse(credit_with_bonus, Answer("approve", 0, 5000, 0, 0))  # the bonus dropped
    assert worse(refund, Answer("review", 5000, 0, 0, 0))
    assert not worse(Answer("decline", 0, 0, 0, 0), Answer("review", 0, 0, 0, 0))


def test_simulate_counts_a_fee_or_bonus_alone_changing_as_compare_does() -> None:
    from refunds_plugin.cli.simulate_report import _cells
    from refunds_plugin.domain.decision import Decision, Fee, Outcome, Resolution
    from refunds_plugin.domain.kinds import ResolutionKind
    from refunds_plugin.finance.simulation import Summary
    from refunds_plugin.insights.compare import _new, _stored

    def decided(fee: int, bonus: int) -> Decision:  # 19.05 to a person either way
        return Decision(Outcome.REVIEW, "reason_review", "", "USD", "p", "h",
                        fees=(Fee("return_shipping", fee, "label"),) if fee else (),
                        resolutions=(Resolution(ResolutionKind.CREDIT, 1905 + bonus, bonus),))

    for new, words in ((decided(0, 0), "fees 5.95 USD → 0.00 USD"),
                       (decided(595, 190), "bonus 0.00 USD → 1.90 USD")):
        c = Comparison(decision_id="d-1", order_id="1001", request_id="r-1", created_at=AT,
                       currency="USD", old_outcome="review", old_amount=new.amount,
                       old_refund=0, old_credit=new.credit_amount, old_reason="reason_review",
                       new=new, old_fees=595, old_bonus=0)
        assert Row(c, _stored(c), _new(c)).differs  # compare: answered differently
        assert c.changed  # simulate: would change, and says what
        summary = Summary()
        summary.add(c)
        assert (summary.changed, summary.outcome_changed) == (1, 0)
        assert _cells(c.to_dict())[5] == words
