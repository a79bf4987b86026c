"""Pairing refund requests with their outcomes on a Saleor transaction: by the payment app's
reference, and without one only where nothing else could own the outcome."""

from __future__ import annotations

from refunds_plugin.saleor.order import TransactionEvent
from refunds_plugin.saleor.request_outcomes import pair, undecided


def ev(id_: str, type_: str, amount: int = 2500, psp: str = "") -> TransactionEvent:
    return TransactionEvent(id=id_, type=type_, created=None, amount=amount, psp=psp)


def req(id_: str, amount: int = 2500, psp: str = "") -> TransactionEvent:
    return ev(id_, "REFUND_REQUEST", amount, psp)


def ok(id_: str, amount: int = 2500, psp: str = "") -> TransactionEvent:
    return ev(id_, "REFUND_SUCCESS", amount, psp)


def no(id_: str, amount: int = 2500, psp: str = "") -> TransactionEvent:
    return ev(id_, "REFUND_FAILURE", amount, psp)


def ids(paired: dict[str, TransactionEvent]) -> dict[str, str]:
    return {r: o.id for r, o in paired.items()}


def test_the_apps_reference_pairs_a_request_with_its_outcome_whatever_came_first() -> None:
    events = [req("ours"), req("staff", psp="re_s"), no("f", psp="re_s"),
              ok("s", psp="re_o")]
    # ours got no reference here (Saleor copies it from the app's answer): the success is the
    # only outcome no other request's reference claims, and ours the only request without one
    assert ids(pair(events)) == {"staff": "f", "ours": "s"}


def test_an_outcome_two_requests_without_references_could_own_settles_neither() -> None:
    assert pair([req("a"), req("b"), no("f")]) == {}
    # once one of them has the app's reference, the other is the failure's only owner
    assert ids(pair([req("a", psp="re_a"), req("b"), no("f"), ok("s", psp="re_a")])) == {
        "a": "s", "b": "f"}


def test_amounts_order_and_skipped_events_count() -> None:
    assert pair([ok("early"), req("a")]) == {}  # an outcome before the request is not its
    assert pair([req("a", 2500), ok("s", 1000)]) == {}  # nor one of another amount
    assert ids(pair([req("a"), req("g"), ok("s")], skip={"g"})) == {"a": "s"}  # a grant's
    # a reference that is another request's is never taken by one without
    assert pair([req("a"), ok("s", psp="re_b"), req("b", psp="re_b")]) == {}


def test_as_many_failures_without_references_as_requests_without_fail_them_all() -> None:
    """Saleor gave up on the app for each of two requests of 25.00 (its REFUND_FAILUREs carry
    no reference): whichever failure is whose, both requests failed."""
    assert ids(pair([req("a"), req("b"), no("f1"), no("f2")])) == {"a": "f1", "b": "f2"}
    assert ids(pair([req("a"), req("b"), req("c"), no("f1"), no("f2"), no("f3")])) == {
        "a": "f1", "b": "f2", "c": "f3"}
    # one of three still waits: which cannot be told
    assert pair([req("a"), req("b"), req("c"), no("f1"), no("f2")]) == {}
    # a failure before a request is not its: f1 is a's or b's, c's is f2 or c still waits
    assert pair([req("a"), req("b"), no("f1"), req("c"), no("f2")]) == {}
    # an outcome with a reference no request has may be the app's answer to either
    assert pair([req("a"), req("b"), no("f1"), ok("s", psp="re_x")]) == {}


def test_a_request_a_failure_without_a_reference_may_be_the_outcome_of_is_undecided() -> None:
    """Such a failure is Saleor giving up on the app: a request it may belong to may have
    failed or may still wait, so a person is asked (``saleor/events.py``)."""
    events = [req("a"), req("b"), no("f")]
    assert undecided(events, pair(events)) == {"a", "b"}
    # the app's answers (with references) decide, and a request after the failure is not its
    events = [req("a", psp="re_a"), req("b"), no("f"), req("c"), ok("s", psp="re_a")]
    assert (ids(pair(events)), undecided(events, pair(events))) == ({"a": "s", "b": "f"}, set())
    # an outcome of another amount, or a granted refund's, is not its either
    events = [req("a"), req("b"), no("f", 1000), req("g"), no("gf")]
    assert undecided(events, pair(events, skip={"g", "gf"}), skip={"g", "gf"}) == set()
