"""Adapter to the payment gateway (Mercado Pago-like): confirmations and refunds."""
