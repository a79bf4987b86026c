"""The Saleor provider: refunds through granted refunds or transaction requests, credit as
gift cards. ``provider`` runs the steps; ``transactions`` and ``gift_cards`` are the GraphQL
steps themselves."""
