"""The inbox accepts each (source, event_id) once, on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import pytest

from db.inbox import InboxRepository

pytestmark = pytest.mark.integration


async def test_a_duplicate_event_returns_the_first_id_and_is_not_new(sessionmaker) -> None:
    inbox = InboxRepository(sessionmaker)
    payload = {"order": {"id": "1001"}, "total": "59.90"}

    first = await inbox.add("store", "evt-1", "order:store:1001", "order_placed", payload)
    again = await inbox.add("store", "evt-1", "order:store:1001", "order_placed", {"x": 1})
    other_source = await inbox.add("payments", "evt-1", "order:store:1001", "payment", {})

    assert first[1] is True
    assert again == (first[0], False)
    assert other_source[1] is True
    assert other_source[0] != first[0]
    stored = await inbox.get(first[0])
    assert stored is not None
    assert stored.payload == payload
    assert stored.status == "pending"


async def test_concurrent_duplicates_store_one_entry(sessionmaker) -> None:
    inbox = InboxRepository(sessionmaker)
    results = await asyncio.gather(
        *(inbox.add("carrier", "trk-9", "order:store:9", "tracking", {"n": n}) for n in range(8))
    )
    assert len({entry_id for entry_id, _ in results}) == 1
    assert sum(is_new for _, is_new in results) == 1


async def test_the_relay_sees_pending_and_failed_entries_until_started(sessionmaker) -> None:
    inbox = InboxRepository(sessionmaker)
    old = datetime.now(UTC) - timedelta(minutes=5)
    a, _ = await inbox.add("store", "a", "order:store:a", "order_placed", {}, at=old)
    b, _ = await inbox.add("store", "b", "order:store:b", "order_placed", {}, at=old)
    c, _ = await inbox.add("store", "c", "order:store:c", "order_placed", {})

    assert [e.id for e in await inbox.pending(older_than_s=60)] == [a, b]
    await inbox.mark_failed(a, "temporal unreachable")
    await inbox.mark_failed(a, "temporal unreachable")
    await inbox.mark_started(b)
    await inbox.mark_started(b)
    await inbox.mark_ignored(c, "order already cancelled")

    assert [e.id for e in await inbox.pending()] == [a]
    failed = await inbox.get(a)
    assert failed is not None
    assert failed.attempts == 2
    assert failed.last_error
    started = await inbox.get(b)
    assert started is not None
    assert started.started_at is not None
    assert await inbox.counts() == {"pending": 0, "started": 1, "ignored": 1, "failed": 1}
