"""Exchanges after the decision: the price difference paid (or not), the new items shipped when
``ship_on`` is reached, the refund or credit instead when the exchange cannot go ahead."""
