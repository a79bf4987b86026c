"""Prepaid return labels through EasyPost, with the official client (the SDK is imported only
here): a return shipment (``is_return``) under our reference, the cheapest allowed rate, bought
once; an unused label voided (refunded); the tracking webhook's HMAC checked with the SDK's own
validator.

Exactly once: before creating anything the shipment is looked up by our reference (EasyPost
takes a reference wherever it takes an id). A try that bought the label and died before we
recorded it is found bought, and its label is returned instead of a second one being bought;
one still finishing at the look-up is refused by EasyPost when bought again, and the refusal
looks once more, so that label is recorded too. (EasyPost has no idempotency key for a
purchase: the reference is what makes a retry safe.)
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import easypost
from easypost.errors import (
    ApiError,
    BadRequestError,
    InvalidRequestError,
    NotFoundError,
    SignatureVerificationError,
)

from refunds_plugin.config import Parcel
from refunds_plugin.errors import (
    FinalProviderError,
    PayloadError,
    RetryableProviderError,
    SignatureError,
)
from refunds_plugin.money import Money
from refunds_plugin.shipping.carriers import Label, LabelRequest, NoLabel

GRAMS_PER_OZ = Decimal("28.349523125")
CM_PER_INCH = Decimal("2.54")
_REFUSED = (BadRequestError, InvalidRequestError)


def _address(a: dict[str, str]) -> dict[str, str]:
    out = {"name": a.get("name", ""), "street1": a.get("street", ""), "city": a.get("city", ""),
           "zip": a.get("postal_code", ""), "country": a.get("country", "")}
    return out | ({"state": a["region"]} if a.get("region") else {})  # a US label needs it


def parcel_params(parcel: Parcel) -> dict[str, float]:
    """EasyPost measures in ounces and inches; ours are grams and centimetres."""
    def q(x: Decimal) -> float:
        return float(x.quantize(Decimal("0.1")))
    return {"weight": q(Decimal(parcel.weight_grams) / GRAMS_PER_OZ),
            "length": q(Decimal(parcel.length_cm) / CM_PER_INCH),
            "width": q(Decimal(parcel.width_cm) / CM_PER_INCH),
            "height": q(Decimal(parcel.height_cm) / CM_PER_INCH)}


def _classify(exc: Exception, doing: str) -> Exception:
    """A refused request is final (a person is told); anything else may pass on a retry."""
    status = getattr(exc, "http_status", None)
    message = f"EasyPost {doing}: {getattr(exc, 'message', None) or exc}"
    if isinstance(exc, _REFUSED) or (isinstance(status, int) and 400 <= status < 500
                                     and status not in (408, 409, 429)):
        return FinalProviderError(message, code="carrier_refused")
    return RetryableProviderError(message, code="carrier_unavailable")


def carrier_message(exc: Exception) -> tuple[str, dict[str, Any]]:
    """EasyPost's words for a refusal, from its error object (``code``, ``message``, and
    ``errors``: field errors as objects or plain strings): ``ADDRESS.VERIFY.FAILURE: Address
    not found (street1: House number is missing)``; and the same as detail."""
    code = getattr(exc, "code", None)
    message = str(getattr(exc, "message", None) or exc)
    fields: list[str] = []
    for err in getattr(exc, "errors", None) or []:
        if isinstance(err, dict):
            text = str(err.get("message") or "")
            field = err.get("field")
            said = f"{field}: {text}" if field and text != message else text
        else:
            said = str(err)
        if said and said != message and said not in fields:
            fields.append(said)
    text = f"{code}: {message}" if code else message
    if fields:
        text += f" ({'; '.join(fields)})"
    return text, {"carrier_code": code, "carrier_message": message, "field_errors": fields}


def _get(obj: Any, key: str) -> Any:
    if obj is None:
        return None
    return obj.get(key) if isinstance(obj, dict) else getattr(obj, key, None)


class EasyPostCarrier:
    name = "easypost"

    def __init__(self, api_key: str, api_base: str = "", timeout: int = 30) -> None:
        kwargs: dict[str, Any] = {"timeout": timeout}
        if api_base:
            kwargs["api_base"] = api_base
        self.client = easypost.EasyPostClient(api_key, **kwargs)

    def _find(self, reference: str) -> Any | None:
        try:
            return self.client.shipment.retrieve(reference)
        except NotFoundError:
            return None
        except (ApiError, OSError) as exc:
            raise _classify(exc, "shipment look-up") from exc

    def buy_return_label(self, request: LabelRequest) -> Label | NoLabel:
        shipment = self._find(request.reference)
        if shipment is not None and _get(shipment, "postage_label"):
            return self._label(shipment, _get(shipment, "selected_rate"))  # bought before
        if shipment is None:
            if request.from_address is None:
                return NoLabel("no_customer_address", "The order carries no shipping address "
                                                      "to send a label from.")
            try:
                shipment = self.client.shipment.create(
                    to_address=_address(request.from_address),  # is_return swaps the two
                    from_address=_address(request.to_address),
                    parcel=parcel_params(request.parcel),
                    is_return=True,
                    reference=request.reference,
                    options={"label_format": "PDF"},
                )
            except _REFUSED as exc:
                said, detail = carrier_message(exc)
                return NoLabel("address_rejected", f"EasyPost refused the shipment: {said}",
                               detail)
            except (ApiError, OSError) as exc:
                raise _classify(exc, "shipment create") from exc
        rate = self._cheapest(shipment, request)
        if rate is None:
            return NoLabel("no_rate", "No allowed carrier offers a rate for this parcel.",
                           {"carriers": list(request.carriers), "services": list(request.services)})
        amount = Money.parse(str(rate["rate"]), str(rate["currency"])).minor
        if (request.max_amount is not None and str(rate["currency"]) == request.currency
                and amount > request.max_amount):
            return NoLabel("too_dear", "The cheapest label costs more than the item: keep it.",
                           {"rate": amount, "currency": rate["currency"]})
        try:
            bought = self.client.shipment.buy(_get(shipment, "id"), rate={"id": rate["id"]})
        except _REFUSED as exc:
            # a purchase an earlier try started may have finished since our look-up (EasyPost
            # refuses a second one): it is ours, so the label is recorded, not refused
            again = self._find(request.reference)
            if again is not None and _get(again, "postage_label"):
                return self._label(again, _get(again, "selected_rate"))
            raise _classify(exc, "label purchase") from exc
        except (ApiError, OSError) as exc:
            raise _classify(exc, "label purchase") from exc
        return self._label(bought, _get(bought, "selected_rate") or rate)

    @staticmethod
    def _cheapest(shipment: Any, request: LabelRequest) -> dict[str, Any] | None:
        rates = [r.to_dict() if hasattr(r, "to_dict") else dict(r)
                 for r in _get(shipment, "rates") or []]
        allowed = [r for r in rates
                   if (not request.carriers or r.get("carrier") in request.carriers)
                   and (not request.services or r.get("service") in request.services)]
        return min(allowed, key=lambda r: (Decimal(str(r["rate"])), str(r.get("id"))),
                   default=None)

    @staticmethod
    def _label(shipment: Any, rate: Any) -> Label:
        postage = _get(shipment, "postage_label")
        forms = _get(shipment, "forms") or []
        qr = next((_get(f, "form_url") for f in forms
                   if _get(f, "form_type") == "label_qr_code"), None)
        return Label(
            shipment_id=str(_get(shipment, "id")),
            tracking_code=str(_get(shipment, "tracking_code")),
            label_url=str(_get(postage, "label_url")),
            qr_code_url=qr,
            carrier=str(_get(rate, "carrier")),
            service=str(_get(rate, "service")),
            amount=Money.parse(str(_get(rate, "rate")), str(_get(rate, "currency"))).minor,
            currency=str(_get(rate, "currency")),
        )

    def void(self, shipment_id: str) -> str:
        try:
            refunded = self.client.shipment.refund(shipment_id)
        except _REFUSED as exc:
            # an earlier try's void that EasyPost took though its answer was lost: refused
            # when asked again, yet the label is voided
            shipment = self._find(shipment_id)
            if _get(shipment, "refund_status") in ("submitted", "refunded"):
                return str(_get(shipment, "refund_status"))
            raise _classify(exc, "label refund") from exc
        except (ApiError, OSError) as exc:
            raise _classify(exc, "label refund") from exc
        return str(_get(refunded, "refund_status") or "submitted")


def verify_webhook(body: bytes, headers: Any, secret: str) -> dict[str, Any]:
    """The tracking webhook's ``X-Hmac-Signature`` (HMAC-SHA256 of the raw body), checked by the
    SDK's own validator; the event as JSON, or ``SignatureError`` naming the cause."""
    if not secret:
        raise SignatureError("no EasyPost webhook secret is configured "
                             "(REFUNDS_EASYPOST_WEBHOOK_SECRET)", code="not_configured")
    if not headers.get("X-Hmac-Signature"):
        raise SignatureError("no X-Hmac-Signature header", code="bad_signature")
    try:
        event = easypost.util.validate_webhook(body, headers, secret)
    except SignatureVerificationError:
        raise SignatureError("the X-Hmac-Signature does not match this body",
                             code="bad_signature") from None
    except ValueError:  # signed, but no JSON Python reads (a 4301-digit integer too)
        raise PayloadError("the body is not valid JSON", code="malformed_json") from None
    if not isinstance(event, dict):
        raise PayloadError("the body is not a JSON object", code="malformed_json")
    return event
