"""ChannelClients: one port over every sales channel."""

from __future__ import annotations

import pytest

from domain.channels import CancelledNotice, ShippedNotice
from domain.errors import DomainError
from domain.orders import Channel
from integrations.channels import ChannelClient, ChannelClients

pytestmark = pytest.mark.unit


class Recorder:
    def __init__(self) -> None:
        self.pushed: list[tuple[str, int]] = []

    async def push_stock(self, sku: str, available: int) -> None:
        self.pushed.append((sku, available))

    async def notify_shipped(self, notice: ShippedNotice) -> None:
        return None

    async def notify_cancelled(self, notice: CancelledNotice) -> None:
        return None


def test_clients_are_found_by_channel_and_listed_in_stable_order() -> None:
    store, marketplace = Recorder(), Recorder()
    clients = ChannelClients({Channel.STORE: store, Channel.MARKETPLACE: marketplace})

    assert clients.for_channel(Channel.STORE) is store
    assert clients.for_channel("marketplace") is marketplace
    assert clients.all() == [(Channel.MARKETPLACE, marketplace), (Channel.STORE, store)]
    assert isinstance(store, ChannelClient)


@pytest.mark.parametrize("channel", [Channel.MARKETPLACE, "shopee"])
def test_unconfigured_channel_is_a_domain_error(channel: str) -> None:
    clients = ChannelClients({Channel.STORE: Recorder()})

    with pytest.raises(DomainError, match="no client is configured"):
        clients.for_channel(channel)
