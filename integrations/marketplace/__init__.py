"""Adapter to the marketplace (Mercado Livre-like): OAuth2, fetch-on-notify, stock per
listing, invoice and tracking upload."""
