"""The Saleor app: install, verified webhooks, order facts over GraphQL, returns and money.

``graphql`` holds every document we send; ``client`` speaks GraphQL over HTTP; ``installs``
keeps the app token per Saleor API URL; ``jws`` verifies webhook signatures; ``facts`` turns a
re-queried order into ledger rows; ``events`` maps webhooks onto the ledger; ``transactions``
(refunds straight from a transaction, and the order look-up) and ``gift_cards`` (store credit)
are the provider's steps.
"""
