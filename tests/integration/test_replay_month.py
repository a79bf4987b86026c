"""A smaller month of ``bench/replay_month.py`` under ``no-hassle``: at least 99% of a normal
customer's returns are decided without a person, and every review names its signal."""

from __future__ import annotations

from pathlib import Path

from bench.replay_month import replay


def test_a_month_under_no_hassle_leaves_normal_customers_alone(tmp_path: Path) -> None:
    report = replay(orders=600, seed=2, db_url=f"sqlite:///{tmp_path / 'month.db'}")

    assert (report.returns, report.total["normal"], report.total["serial"]) == (165, 137, 28)
    assert report.share("normal") >= 0.99
    assert report.reviews > 0  # the signals still work: serial returners are looked at
    assert report.unexplained == 0
    assert sum(report.signals.values()) >= report.reviews
    # 4 before only the customer-reason share of a mixed earlier return counted: the other two
    # rested on damaged / not-as-described lines of serial returners' whole-order returns
    assert dict(report.signals) == {"refund_ratio": 2}
