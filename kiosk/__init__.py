"""Venue kiosk appliance: door check-in, walk-up sales, ticket printing and offline-first sync."""

__version__ = "0.1.0"
