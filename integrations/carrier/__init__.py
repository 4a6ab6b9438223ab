"""Adapter to the freight hub (Melhor Envio-like): quotes, labels, tracking."""
