"""What a refund attempt gives, its credit's bonus apart, in SQL: ``domain.kinds.paid_out`` as a
column expression, for sums over ``refund_attempts``. A refund counts what its provider was asked
for once known (``sent_amount``: less than ``amount`` where Saleor clamped the request to what
was still charged); a credit, and a refund not sent yet, its ``amount``."""

from __future__ import annotations

from sqlalchemy import and_, case

from refunds_plugin.ledger.tables import refund_attempts

_RA = refund_attempts.c

PAID_OUT = case(
    (and_(_RA.kind == "refund", _RA.sent_amount.is_not(None)), _RA.sent_amount),
    else_=_RA.amount,
)
# what Saleor did not refund of a clamped refund (0 for every other attempt)
SHORT = _RA.amount - PAID_OUT
