"""refunds-plugin: a no-hassle returns and refund service for online stores."""

__version__ = "0.1.0"
