"""The customer's returns page: look-up, quote, request, status (blueprint ``returns``)."""

from webhooks.returns.views import init_app

__all__ = ["init_app"]
