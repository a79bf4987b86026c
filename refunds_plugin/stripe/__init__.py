"""What Stripe's events mean for the ledger: the inbound half (Stripe calls us).

No SDK here: the outbound half, where we call Stripe, is ``refunds_plugin.providers.stripe``.
With absolute imports this package never shadows the ``stripe`` SDK, which is imported only
by the provider.
"""
