"""Every GraphQL document this app sends to Saleor, as constants, and the mark it leaves.

The contract test validates each of them (and the manifest's subscriptions) against Saleor
3.20 and 3.23. Mutations take whole input objects as variables, so a field whose nullability
changed between versions (``transactionId`` became ``ID!`` in 3.21) validates on both.
``ATTEMPT_MARK`` is written into every granted refund's reason by the provider and read back
by the provider's retry and by the order-event handler: live Saleor data depends on its text.
"""

from __future__ import annotations

import re

ATTEMPT_MARK = "refunds-plugin attempt "
_ATTEMPT_RE = re.compile(re.escape(ATTEMPT_MARK) + r"([0-9a-f-]{36})")


def attempt_in_reason(reason: str) -> str | None:
    """The attempt id a granted refund's reason carries, if we wrote it."""
    found = _ATTEMPT_RE.search(reason or "")
    return found.group(1) if found else None


APP_ID = "query AppId { app { id } }"

MONEY = "amount currency"

# What a line is tagged with for the policy (final sale and the like, see saleor/tags.py).
# ``attributes`` is deprecated for ``assignedAttributes`` in 3.22+, which 3.20 lacks.
ORDER_FIELDS = f"""
fragment RefundsAttributes on SelectedAttribute {{
  attribute {{ slug }} values {{ slug boolean }}
}}

fragment RefundsOrder on Order {{
  id number created updatedAt status chargeStatus userEmail languageCodeEnum
  channel {{ slug currencyCode }}
  shippingAddress {{
    firstName lastName companyName streetAddress1 streetAddress2 city postalCode countryArea
    country {{ code }}
  }}
  user {{ id email orders {{ totalCount }} }}
  total {{ gross {{ {MONEY} }} }}
  shippingPrice {{ gross {{ {MONEY} }} }}
  totalCharged {{ {MONEY} }}
  totalRefunded {{ {MONEY} }}
  totalRefundPending {{ {MONEY} }}
  totalGrantedRefund {{ {MONEY} }}
  totalBalance {{ {MONEY} }}
  lines {{
    id productName variantName productSku quantity quantityFulfilled
    variant {{
      id metadata {{ key value }} attributes {{ ...RefundsAttributes }}
      product {{
        id metadata {{ key value }} productType {{ slug }}
        attributes {{ ...RefundsAttributes }} collections {{ slug }}
      }}
    }}
    unitPrice {{ gross {{ {MONEY} }} }}
    undiscountedUnitPrice {{ gross {{ {MONEY} }} }}
    totalPrice {{ gross {{ {MONEY} }} }}
  }}
  fulfillments {{ id status created lines {{ id quantity orderLine {{ id }} }} }}
  transactions {{
    id name pspReference createdAt actions
    createdBy {{ __typename ... on App {{ id isActive }} }}
    chargedAmount {{ {MONEY} }}
    refundedAmount {{ {MONEY} }}
    refundPendingAmount {{ {MONEY} }}
    events {{ id type createdAt pspReference amount {{ {MONEY} }} }}
  }}
  grantedRefunds {{
    id status reason createdAt updatedAt
    amount {{ {MONEY} }}
    transaction {{ id }}
    transactionEvents {{ id }}
    lines {{ id quantity orderLine {{ id }} }}
  }}
}}
"""

ORDER = (
    "query RefundsOrder($id: ID!) { order(id: $id) { ...RefundsOrder } }\n" + ORDER_FIELDS
)

# Also an exchange's return: lines marked ``replace: true`` make Saleor create ``replaceOrder``,
# a draft order of the returned variants (see the exchange documents below).
RETURN_PRODUCTS = """
mutation RefundsReturnProducts($order: ID!, $input: OrderReturnProductsInput!) {
  orderFulfillmentReturnProducts(order: $order, input: $input) {
    returnFulfillment { id status }
    replaceOrder { id status }
    order { id status }
    errors { field code message }
  }
}
"""

GRANT_REFUND = """
mutation RefundsGrantRefund($id: ID!, $input: OrderGrantRefundCreateInput!) {
  orderGrantRefundCreate(id: $id, input: $input) {
    grantedRefund { id status reason amount { amount currency } }
    errors { field code message lines { lineId field code message } }
  }
}
"""

REQUEST_GRANTED_REFUND = """
mutation RefundsRequestGrantedRefund($grantedRefundId: ID!, $transactionId: ID!) {
  transactionRequestRefundForGrantedRefund(grantedRefundId: $grantedRefundId, id: $transactionId) {
    transaction {
      id refundPendingAmount { amount currency } refundedAmount { amount currency }
      order { grantedRefunds { id status } }
    }
    errors { field code message }
  }
}
"""

# A refund of a whole transaction's extra money, not tied to returned lines: a duplicate charge
# or an overpayment. Saleor records a REFUND_REQUEST event on the transaction and asks the
# payment app asynchronously; the outcome comes back as REFUND_SUCCESS / REFUND_FAILURE.
TRANSACTION_REFUND = """
mutation RefundsTransactionRefund($id: ID!, $amount: PositiveDecimal!) {
  transactionRequestAction(id: $id, actionType: REFUND, amount: $amount) {
    transaction {
      id refundPendingAmount { amount currency } refundedAmount { amount currency }
      events { id type createdAt pspReference amount { amount currency } }
    }
    errors { field code message }
  }
}
"""

GIFT_CARD_CREATE = """
mutation RefundsGiftCardCreate($input: GiftCardCreateInput!) {
  giftCardCreate(input: $input) {
    giftCard { id code last4CodeChars initialBalance { amount currency } }
    errors { field code message }
  }
}
"""

GIFT_CARDS_BY_TAG = """
query RefundsGiftCardsByTag($tag: String!) {
  giftCards(first: 5, filter: { tags: [$tag] }) {
    edges { node { id code last4CodeChars initialBalance { amount currency } } }
  }
}
"""

# Restock a returned line (``[saleor] restock_warehouse``): Saleor sets a variant's stock in a
# warehouse to a quantity, so the current quantity is read first and the returned units added.
VARIANT_STOCK = """
query RefundsVariantStock($id: ID!) {
  productVariant(id: $id) { id stocks { warehouse { id } quantity } }
}
"""

RESTOCK = """
mutation RefundsRestock($variantId: ID!, $stocks: [StockInput!]!) {
  productVariantStocksUpdate(variantId: $variantId, stocks: $stocks) {
    productVariant { id stocks { warehouse { id } quantity } }
    errors { field code message }
  }
}
"""

# --- exchanges: the return recorded with ``replace: true`` (RETURN_PRODUCTS) makes Saleor create a
# replacement draft order holding the returned variants; its lines are changed to the chosen
# variants and the draft completed when the exchange's ship_on is reached. The order's
# ORDER_REPLACEMENT_CREATED event names the draft, so a retry after a lost answer finds it
# instead of making a second one.
REPLACEMENT_OF = """
query RefundsReplacementOf($id: ID!) {
  order(id: $id) { id events { id type relatedOrder { id } } }
}
"""

DRAFT = """
query RefundsDraft($id: ID!) {
  order(id: $id) { id status original lines { id quantity variant { id } } }
}
"""

DRAFT_LINES_CREATE = """
mutation RefundsDraftLinesCreate($id: ID!, $input: [OrderLineCreateInput!]!) {
  orderLinesCreate(id: $id, input: $input) {
    order { id lines { id quantity variant { id } } }
    errors { field code message }
  }
}
"""

DRAFT_LINE_DELETE = """
mutation RefundsDraftLineDelete($id: ID!) {
  orderLineDelete(id: $id) {
    order { id }
    errors { field code message }
  }
}
"""

DRAFT_COMPLETE = """
mutation RefundsDraftComplete($id: ID!) {
  draftOrderComplete(id: $id) {
    order { id status number }
    errors { field code message }
  }
}
"""

# The returns page's "exchange for another size/colour": a product's variants with their price
# (after a running promotion, and their list price) and what is in stock, in the order's channel
# (public fields: no extra permission).
PRODUCT_VARIANTS = f"""
query RefundsProductVariants($id: ID!, $channel: String) {{
  product(id: $id, channel: $channel) {{
    id name
    variants {{
      id name sku quantityAvailable
      pricing {{ price {{ gross {{ {MONEY} }} }} priceUndiscounted {{ gross {{ {MONEY} }} }} }}
    }}
  }}
}}
"""

# What every manifest webhook asks for: who caused the event, and which order it is about.
# The order itself is re-queried with ORDER before anything is decided (payloads are deferred).
SUBSCRIPTION_EVENT_FIELDS = """
    __typename
    issuedAt
    version
    issuingPrincipal { __typename ... on App { id identifier } ... on User { id } }
"""


def subscription(event_type: str) -> str:
    """The subscription query for one order event (``OrderFullyPaid``, ``OrderUpdated``...)."""
    return (
        "subscription { event {"
        + SUBSCRIPTION_EVENT_FIELDS
        + f"    ... on {event_type} {{ order {{ id number updatedAt }} }}\n"
        + "} }"
    )


# Saleor-Event header value → subscription type
ORDER_EVENTS = {
    "ORDER_FULLY_PAID": "OrderFullyPaid",
    "ORDER_UPDATED": "OrderUpdated",
    "ORDER_REFUNDED": "OrderRefunded",
    "ORDER_FULLY_REFUNDED": "OrderFullyRefunded",
}

DOCUMENTS = {
    "APP_ID": APP_ID,
    "ORDER": ORDER,
    "RETURN_PRODUCTS": RETURN_PRODUCTS,
    "GRANT_REFUND": GRANT_REFUND,
    "REQUEST_GRANTED_REFUND": REQUEST_GRANTED_REFUND,
    "TRANSACTION_REFUND": TRANSACTION_REFUND,
    "GIFT_CARD_CREATE": GIFT_CARD_CREATE,
    "GIFT_CARDS_BY_TAG": GIFT_CARDS_BY_TAG,
    "VARIANT_STOCK": VARIANT_STOCK,
    "RESTOCK": RESTOCK,
    "REPLACEMENT_OF": REPLACEMENT_OF,
    "DRAFT": DRAFT,
    "DRAFT_LINES_CREATE": DRAFT_LINES_CREATE,
    "DRAFT_LINE_DELETE": DRAFT_LINE_DELETE,
    "DRAFT_COMPLETE": DRAFT_COMPLETE,
    "PRODUCT_VARIANTS": PRODUCT_VARIANTS,
}
