"""The service layer: one database transaction per incoming event or admin decision.

``service`` owns the one event skeleton (inbox row, apply, trouble detectors, mark, nudge the
executor) for storefront, Stripe and Saleor events; ``reviews`` is a person approving or
declining; ``returns_page`` is the customer page's read model.
"""
