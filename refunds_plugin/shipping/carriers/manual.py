"""The ``manual`` carrier: no label platform configured, so the customer gets instructions only
(the shop's address, the return-by date, packing notes) and ships the parcel themselves."""

from __future__ import annotations

from refunds_plugin.shipping.carriers import Label, LabelRequest, NoLabel


class ManualCarrier:
    name = "manual"

    def buy_return_label(self, request: LabelRequest) -> Label | NoLabel:
        return NoLabel("no_carrier", "No label platform is configured: instructions only.")

    def void(self, shipment_id: str) -> str:
        return "not_applicable"
