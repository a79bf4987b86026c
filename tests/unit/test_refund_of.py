"""Which money a refund attempt gives back, by its seq (``exchange_dues.refund_of``), retries
included, and where a retry of each goes (``retry_seq``): in its own band, so a retried
original-due refund (901) is never read as a refund of the sale, nor a retried sale refund
written after one (1, not 901) as a due's."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import create_engine, insert, select

from refunds_plugin.finance.moved import moved
from refunds_plugin.ledger.exchange_dues import (
    DIFFERENCE,
    DIFFERENCE_SEQ,
    LABEL_FEE,
    ORIGINAL_DUE,
    REFUND_SEQ,
    SALE,
    refund_of,
    retry_seq,
    seq_is,
)
from refunds_plugin.ledger.label_fees import LABEL_FEE_SEQ, is_label_fee
from refunds_plugin.ledger.tables import metadata, refund_attempts


@pytest.mark.parametrize(("seq", "kind"), [
    (0, SALE), (3, SALE), (899, SALE), (REFUND_SEQ, ORIGINAL_DUE), (901, ORIGINAL_DUE),
    (949, ORIGINAL_DUE), (DIFFERENCE_SEQ, DIFFERENCE), (951, DIFFERENCE), (969, DIFFERENCE),
    (LABEL_FEE_SEQ, LABEL_FEE), (971, LABEL_FEE), (4000, LABEL_FEE)])
def test_each_seq_gives_back_one_kind_of_money(seq: int, kind: str) -> None:
    assert refund_of(seq) == kind
    assert is_label_fee(seq) is (kind == LABEL_FEE)


def _attempts(*seqs: int) -> object:
    engine = create_engine("sqlite://")
    metadata.create_all(engine, tables=[refund_attempts])
    now = datetime(2026, 12, 1, tzinfo=UTC)
    with engine.begin() as conn:
        for seq in seqs:
            conn.execute(insert(refund_attempts).values(
                id=f"a{seq}", decision_id="d1", order_id="o1", seq=seq, provider="stripe",
                kind="refund", currency="USD", amount=100, bonus=0, idempotency_key=f"k{seq}",
                status="failed", tries=0, next_try_at=now, created_at=now, updated_at=now,
                reason="requested_by_customer"))
    return engine


def test_a_retry_takes_the_next_seq_of_its_own_kind() -> None:
    engine = _attempts(0, REFUND_SEQ, DIFFERENCE_SEQ, LABEL_FEE_SEQ)
    with engine.connect() as conn:  # type: ignore[attr-defined]
        assert retry_seq(conn, "d1", 0) == 1
        assert retry_seq(conn, "d1", REFUND_SEQ) == 901
        assert retry_seq(conn, "d1", DIFFERENCE_SEQ) == 951
        assert retry_seq(conn, "d1", LABEL_FEE_SEQ) == 971
        ra = refund_attempts.c
        assert conn.execute(select(ra.seq).where(seq_is(ra.seq, ORIGINAL_DUE))).scalars().all() \
            == [REFUND_SEQ]


def test_a_band_with_no_seq_left_refuses_another_retry() -> None:
    engine = _attempts(REFUND_SEQ, 949)
    with engine.connect() as conn, pytest.raises(ValueError, match="no seq left"):  # type: ignore[attr-defined]
        retry_seq(conn, "d1", REFUND_SEQ)


def test_the_decision_page_says_a_retried_due_refund_is_no_refund_of_the_sale() -> None:
    paid = {"kind": "refund", "amount": 2000, "currency": "USD", "status": "succeeded",
            "provider": "stripe", "livemode": True}
    assert moved([{**paid, "seq": 1}, {**paid, "seq": 901}, {**paid, "seq": 951}]) == (
        "20.00 USD refunded through stripe; 20.00 USD refunded through stripe (the payment for "
        "the original not returned, given back: no refund of the sale); 20.00 USD refunded "
        "through stripe (the payment for the exchange's price difference, given back: no "
        "refund of the sale)")
