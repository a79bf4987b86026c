"""The ledger's tables (SQLAlchemy 2 Core), one module per room, all on one ``metadata``.

Alembic migrations in ``migrations/`` create them.

Money columns are integer minor units next to a currency column. Idempotency lives in unique
constraints: an event is recorded once per ``(source, event_id)``, a return request decided once
per ``(order_id, request_key)``, a provider call keyed by the attempt's idempotency key.
"""

from refunds_plugin.ledger.tables.base import Id, metadata
from refunds_plugin.ledger.tables.core import (
    decisions,
    events,
    finance_sessions,
    follow_ups,
    instance_keys,
    ledger_entries,
    ledger_seal,
    orders,
    payments,
    provider_refunds,
    refund_attempts,
    reviews,
    saleor_installs,
    tokens,
)
from refunds_plugin.ledger.tables.exchanges import (
    exchange_dues,
    exchanges,
)
from refunds_plugin.ledger.tables.insights import (
    customer_orders,
    feedback,
    insight_marks,
    money_days,
    order_line_labels,
    order_lines,
    retention_rows,
    return_figures,
    return_lines,
    returned_days,
    sold_days,
)
from refunds_plugin.ledger.tables.notify import (
    outbox,
)
from refunds_plugin.ledger.tables.shipping import (
    return_receipts,
    return_shipments,
    saleor_returns,
)
from refunds_plugin.ledger.tables.withdrawals import (
    withdrawals,
)

__all__ = [
    "Id",
    "finance_sessions",
    "metadata",
    "events",
    "orders",
    "payments",
    "decisions",
    "refund_attempts",
    "provider_refunds",
    "reviews",
    "follow_ups",
    "tokens",
    "saleor_installs",
    "ledger_entries",
    "ledger_seal",
    "instance_keys",
    "return_shipments",
    "return_receipts",
    "saleor_returns",
    "outbox",
    "order_lines",
    "order_line_labels",
    "customer_orders",
    "return_lines",
    "return_figures",
    "feedback",
    "insight_marks",
    "sold_days",
    "returned_days",
    "money_days",
    "retention_rows",
    "exchange_dues",
    "exchanges",
    "withdrawals",
]
