"""Adapter to the own web store (Nuvemshop/Shopify-like): full-order webhooks, stock,
fulfilments and cancellations."""
