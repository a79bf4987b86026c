"""Storefront traffic for the multi-process tests and the benchmark: orders and returns.

Every order is 2 mugs at 25.00, 1 lamp at 40.00 and 5.00 shipping (95.00, captured in full on
``pi_<order>``). Its four return requests ask for a mug, a mug, a third mug (there is none left
once two are decided: a 400 with nothing recorded) and the lamp, so the order can never be
refunded more than 95.00.
"""

from __future__ import annotations

from typing import Any

from tests.fakes import order_paid, return_requested

CAPTURED = 9500
LINES = [
    {"id": "mug", "sku": "MUG", "name": "Mug", "quantity": 2, "unit_amount": 2500, "tags": []},
    {"id": "lamp", "sku": "LAMP", "name": "Lamp", "quantity": 1, "unit_amount": 4000, "tags": []},
]


def pi(order: str) -> str:
    return f"pi_{order}"


def paid(order: str) -> dict[str, Any]:
    return order_paid(order, event_id=f"evt_paid_{order}", lines=LINES, shipping=500,
                      reference=pi(order),
                      customer={"id": f"cus_{order}", "email": f"{order}@example.com"})


def ask(order: str, req: str, line: str) -> dict[str, Any]:
    return return_requested(
        f"{order}-{req}", order, event_id=f"evt_ret_{order}_{req}",
        lines=[{"line_id": line, "quantity": 1, "reason": "changed_mind"}],
    )


def deliveries(order: str) -> list[dict[str, Any]]:
    """Five deliveries: request a twice (a redelivered event), then b, c and d."""
    a = ask(order, "a", "mug")
    return [a, a, ask(order, "b", "mug"), ask(order, "c", "mug"), ask(order, "d", "lamp")]
