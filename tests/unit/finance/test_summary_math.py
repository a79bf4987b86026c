"""The summary's arithmetic: nearest-rank percentiles and the refund rate in basis points."""

from __future__ import annotations

from refunds_plugin.finance.summary import Totals, percentile


def test_percentiles_use_the_nearest_rank_of_whole_seconds() -> None:
    values = [3600 * h for h in (1, 2, 3, 4, 5, 6, 7, 8, 9, 100)]
    assert percentile(values, 50) == 5 * 3600
    assert percentile(values, 95) == 100 * 3600
    assert percentile([42], 95) == 42
    assert percentile([], 50) is None


def test_the_refund_rate_is_basis_points_of_sales_rounded_down() -> None:
    assert Totals("EUR", sales=6500, refunded=2500).refund_rate_bp == 3846
    assert Totals("EUR", sales=3, refunded=1).refund_rate_bp == 3333
    assert Totals("EUR", sales=0, refunded=0).refund_rate_bp is None
