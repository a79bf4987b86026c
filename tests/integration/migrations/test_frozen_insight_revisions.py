"""Revisions 0009, 0017 and 0018 build the insights' rows and rollups of an old ledger as they did
when they were written, whatever today's code says: each test writes, at the revision before,
the rows the code of then left, upgrades and reads the exact rows, on SQLite and PostgreSQL.

Where today's code would write other figures (0009 predates the rounding cut on return lines;
0018 predates 0026's "declined after approval grants nothing"), the test says so: a revision
that called the app's code again would fail it."""

from __future__ import annotations

import json
from datetime import timedelta

from tests.fakes.old_ledger import T0, OldLedger, at, day


def test_0009_indexes_the_orders_and_returns_recorded_before_it(old_ledger: OldLedger) -> None:
    old_ledger.upgrade("0007")
    lines = [{"id": "l1", "sku": "TEE-M", "name": "Tee", "quantity": 2, "unit_amount": 1500,
              "tags": ["summer", "cotton", "summer"], "collections": ["tops"],
              "product_id": "p1", "total_amount": None},
             # a voucher spread over the line: its total, not unit × quantity
             {"id": "l2", "sku": "", "name": "Mug", "quantity": 3, "unit_amount": 817,
              "total_amount": 2450}]
    old_ledger.put("orders", order_id="o-1", source="stripe", currency="EUR", total_amount=5450,
                   shipping_amount=0, lines=json.dumps(lines), paid_at=T0,
                   updated_at=T0 + timedelta(hours=1), customer_email=" Ann@Example.com ")
    old_ledger.put("orders", order_id="o-2", source="stripe", currency="EUR", total_amount=0,
                   shipping_amount=0, lines="[]", updated_at=T0 + timedelta(days=1),
                   customer_id="c-9")
    decided = T0 + timedelta(days=2)
    old_ledger.decision(
        "R1", "o-1",
        {"currency": "EUR", "amount": 2500,
         "lines": [{"line_id": "l1", "amount": 1500},
                   {"line_id": "l1", "amount": 1500, "return_required": False}],
         "fees": [{"code": "restocking", "amount": 500}],
         "resolutions": [{"bonus": 0}, {"bonus": 100}],
         # today's code would take these 3 off the line; 0009 predates that (0023 does it)
         "trace": [{"rule": "rounding", "saw": {"not_refunded": 3}}]},
        {"lines": [{"line_id": "l1", "quantity": 2, "reason": "too_small"}],
         "comment": "  Too small  "},
        created_at=decided, customer_email="ann@example.com")
    old_ledger.decision("X1", "o-2", {"currency": "EUR", "amount": 10}, kind="overpayment",
                        created_at=decided)

    old_ledger.upgrade("0009")

    assert old_ledger.rows("order_lines", "order_id", "line_id", "sku", "product_id", "name",
                           "currency", "quantity", "amount", "at") == [
        ("o-1", "l1", "TEE-M", "p1", "Tee", "EUR", 2, 3000, at(T0)),
        ("o-1", "l2", "", None, "Mug", "EUR", 3, 2450, at(T0))]
    assert old_ledger.rows("order_line_labels", "order_id", "line_id", "kind", "label",
                           "currency", "quantity", "amount", "at") == [
        ("o-1", "l1", "collection", "tops", "EUR", 2, 3000, at(T0)),
        ("o-1", "l1", "tag", "cotton", "EUR", 2, 3000, at(T0)),
        ("o-1", "l1", "tag", "summer", "EUR", 2, 3000, at(T0))]
    assert old_ledger.rows("customer_orders", "order_id", "customer", "currency", "total",
                           "at") == [
        ("o-1", "ann@example.com", "EUR", 5450, at(T0)),
        ("o-2", "id:c-9", "EUR", 0, at(T0 + timedelta(days=1)))]
    assert old_ledger.rows("return_lines", "decision_id", "line_id", "order_id", "quantity",
                           "reason", "amount", "kept", "at") == [
        ("R1", "l1", "o-1", 2, "too_small", 3000, 1, at(decided))]
    assert old_ledger.rows("return_figures", "decision_id", "customer", "currency", "fees",
                           "bonus", "kept", "comment", "at") == [
        ("R1", "ann@example.com", "EUR", 500, 100, 1500, "Too small", at(decided))]


ROLLED = ("dimension", "width", "day")


def test_0017_builds_nothing_and_0018_builds_the_rollups_as_they_were_then(
        old_ledger: OldLedger) -> None:
    old_ledger.upgrade("0016")
    sold, asked = T0, T0 + timedelta(days=3)
    old_ledger.put("customer_orders", order_id="o-1", customer="ann@example.com",
                   currency="EUR", total=5000, at=at(sold))
    for line_id, sku, product, name, quantity, amount in (
            ("l1", "TEE", None, "Tee", 2, 3000), ("l2", "MUG", "p-mug", "Mug", 1, 2000)):
        old_ledger.put("order_lines", order_id="o-1", line_id=line_id, sku=sku,
                       product_id=product, name=name, currency="EUR", quantity=quantity,
                       amount=amount, at=at(sold))
    # R1: line l2 swapped for another item (its exchange shipped); R2: approved by the policy,
    # then declined by a person after its review was re-opened
    old_ledger.decision("R1", "o-1", {"currency": "EUR", "amount": 1500,
                                      "exchange": {"lines": [{"line_id": "l2"}]}})
    old_ledger.decision("R2", "o-1", {"currency": "EUR", "amount": 1000})
    old_ledger.put("reviews", decision_id="R2", status="declined", opened_at=T0)
    old_ledger.put("exchanges", decision_id="R1", order_id="o-1", currency="EUR",
                   status="shipped")
    for decision_id, line_id, reason, amount in (("R1", "l1", "too_small", 1500),
                                                 ("R1", "l2", "wrong_size", 2000),
                                                 ("R2", "l1", "damaged", 1000)):
        old_ledger.put("return_lines", decision_id=decision_id, line_id=line_id,
                       order_id="o-1", quantity=1, reason=reason, amount=amount, kept=0,
                       at=at(asked))
    old_ledger.put("return_figures", decision_id="R1", customer="ann@example.com",
                   currency="EUR", fees=200, bonus=0, kept=0, at=at(asked))
    old_ledger.put("return_figures", decision_id="R2", customer=None, currency="EUR", fees=50,
                   bonus=0, kept=0, at=at(asked))

    old_ledger.upgrade("0017")
    for name in ("sold_days", "returned_days", "money_days", "retention_rows"):
        assert old_ledger.rows(name, "id" if name == "retention_rows" else "day") == []
    old_ledger.put("insight_marks", day=day(asked), customer="ann@example.com")

    old_ledger.upgrade("0018")

    assert old_ledger.rows("return_lines", "decision_id", "line_id", "exchanged") == [
        ("R1", "l1", 0), ("R1", "l2", 1), ("R2", "l1", 0)]

    def both_widths(when: int, rows: list[tuple[object, ...]]) -> list[tuple[object, ...]]:
        return sorted(((dim, width, when // 8 * 8 if width == 8 else when, *rest)
                       for dim, *rest in rows for width in (1, 8)), key=repr)

    assert old_ledger.rows("sold_days", *ROLLED, "key", "currency", "name", "units",
                           "money") == both_widths(day(sold), [
        ("product", "TEE", "EUR", "Tee", 2, 3000), ("product", "p-mug", "EUR", "Mug", 1, 2000),
        ("sku", "MUG", "EUR", "Mug", 1, 2000), ("sku", "TEE", "EUR", "Tee", 2, 3000)])
    # R2 counts as granted: 0018's definition (0026 marks such days for the folder later);
    # the exchanged line is no money returned
    assert old_ledger.rows("returned_days", *ROLLED, "key", "currency", "reason", "granted",
                           "kept", "units", "money") == both_widths(day(asked), [
        (dim, key, "EUR", reason, 1, 0, 1, money)
        for dim in ("product", "sku")
        for key, reason, money in (("TEE", "too_small", 1500), ("TEE", "damaged", 1000),
                                   ("p-mug" if dim == "product" else "MUG", "wrong_size", 0))])
    assert old_ledger.rows("money_days", "term", "day", "currency", "amount") == [
        ("fees", day(asked), "EUR", 250), ("kept", day(asked), "EUR", 0),
        ("sales", day(sold), "EUR", 5000)]
    assert old_ledger.rows("retention_rows", "customer", "ref", "at", "prev_at", "ending",
                           "first", "gap", "currency", "spent30", "spent90", "spent180") == [
        ("ann@example.com", "R1", at(asked), None, "exchange", 1, None, None, 0, 0, 0)]
    assert old_ledger.rows("insight_marks", "day", "customer") == []
