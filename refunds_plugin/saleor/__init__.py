"""The Saleor app, inbound: install, verified webhooks, order facts over GraphQL, the widget.

``manifest`` says who we are and what we hear; ``installs`` keeps the app token per Saleor API
URL; ``jws`` verifies webhook signatures and ``dashboard_token`` the Dashboard's token;
``graphql`` holds every document we send; ``client`` speaks GraphQL over HTTP; ``order`` turns
a re-queried order into ledger rows and ``tags`` its lines' tags; ``events`` maps order webhooks
onto the ledger; ``widget`` is the Dashboard's order widget. The outbound half, where we move
money through Saleor, is ``refunds_plugin.providers.saleor``.
"""
