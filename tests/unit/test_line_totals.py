"""``domain.line_totals``: an order's total spread over its lines adds up to the minor unit."""

from __future__ import annotations

from hypothesis import assume, given, settings
from hypothesis import strategies as st

from refunds_plugin.domain.facts import OrderLine
from refunds_plugin.domain.line_totals import shares, spread


def line(n: int, quantity: int, unit: int, total: int | None = None) -> OrderLine:
    return OrderLine(f"l{n}", f"S{n}", f"Item {n}", quantity, unit, total_amount=total)


def test_shares_give_the_left_over_units_to_the_largest_remainders_then_the_earlier_line() -> None:
    assert shares(2000, [1000, 1000, 1000]) == [667, 667, 666]
    assert shares(4497, [2997, 1500, 500]) == [2697, 1350, 450]  # remainders 600, 4547, 4847
    assert shares(0, [5, 7]) == [0, 0]
    assert shares(7, [0, 3]) == [0, 7]


def test_an_order_that_adds_up_comes_back_as_the_same_lines() -> None:
    lines = (line(1, 2, 2500), line(2, 1, 999, total=900))
    assert spread(lines, 500, 6400) is lines


@settings(max_examples=300, deadline=None)
@given(st.lists(st.tuples(st.integers(1, 50), st.integers(0, 10**6)), min_size=1, max_size=8),
       st.integers(0, 10**5), st.integers(0, 10**8))
def test_a_spread_order_adds_up_exactly_and_every_unit_refund_sums_to_its_line(
    items: list[tuple[int, int]], shipping: int, paid_for_lines: int
) -> None:
    lines = tuple(line(n, q, u) for n, (q, u) in enumerate(items))
    assume(any(q * u for q, u in items))  # all free: nothing to spread over (web tests)
    spread_lines = spread(lines, shipping, paid_for_lines + shipping)
    assert sum(ln.amount for ln in spread_lines) == paid_for_lines
    for before, after in zip(lines, spread_lines, strict=True):
        weight = before.unit_amount * before.quantity
        whole = sum(q * u for q, u in items)
        assert abs(after.amount * whole - paid_for_lines * weight) < whole  # within one unit
        assert sum(after.units_amount(1, k) for k in range(after.quantity)) == after.amount
