"""meterwall: a self-hosted metered paywall for news publishers.

The server counts, the server decides, and a reader who is not entitled never
receives the gated text.
"""

__version__ = "0.1.0"
