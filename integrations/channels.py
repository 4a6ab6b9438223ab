"""Sales channels as one port: what the order and stock workflows need from any channel."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Protocol, runtime_checkable

from domain.channels import CancelledNotice, ShippedNotice
from domain.errors import DomainError
from domain.orders import Channel


@runtime_checkable
class ChannelClient(Protocol):
    async def push_stock(self, sku: str, available: int) -> None: ...

    async def notify_shipped(self, notice: ShippedNotice) -> None: ...

    async def notify_cancelled(self, notice: CancelledNotice) -> None: ...


class ChannelClients:
    """The channel clients the composition root built, e.g.
    `ChannelClients({Channel.STORE: store, Channel.MARKETPLACE: marketplace})`."""

    def __init__(self, clients: Mapping[Channel, ChannelClient]) -> None:
        self._clients = dict(clients)

    def for_channel(self, channel: Channel | str) -> ChannelClient:
        known = {c.value for c in self._clients}
        client = self._clients[Channel(channel)] if channel in known else None
        if client is None:
            raise DomainError(
                f"no client is configured for channel {channel!s}", code="channel_not_configured"
            )
        return client

    def all(self) -> list[tuple[Channel, ChannelClient]]:
        """Every configured channel with its client, in a stable order."""
        return sorted(self._clients.items())
