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


async def test_claims_hand_out_pending_and_failed_entries_until_started(sessionmaker) -> None:
    inbox = InboxRepository(sessionmaker)
    a, _ = await inbox.add("store", "a", "order:store:a", "order_placed", {})
    b, _ = await inbox.add("store", "b", "order:store:b", "order_placed", {})
    c, _ = await inbox.add("store", "c", "order:store:c", "order_placed", {})

    assert [e.id for e in await inbox.claim("relay-1", limit=2)] == [a, b]
    assert [e.id for e in await inbox.claim("relay-2")] == [c]
    assert await inbox.claim("relay-3") == []
    await inbox.mark_failed([a], "temporal unreachable", owner="relay-1")
    await inbox.mark_started(b)
    await inbox.mark_started(b)
    await inbox.mark_ignored(c, "order already cancelled")

    failed = await inbox.get(a)
    assert failed is not None
    assert failed.attempts == 1
    assert failed.last_error == "temporal unreachable"
    assert failed.claimed_by is None
    assert [e.id for e in await inbox.claim("relay-2")] == [a]
    started = await inbox.get(b)
    assert started is not None
    assert started.started_at is not None
    assert started.claimed_by is None
    assert await inbox.counts() == {
        "pending": 0, "started": 1, "ignored": 1, "failed": 1, "quarantined": 0,
    }  # fmt: skip


async def test_two_relays_claiming_at_once_never_get_the_same_entry(sessionmaker) -> None:
    inbox = InboxRepository(sessionmaker)
    ids = {
        (await inbox.add("store", f"e{n}", f"order:store:{n}", "order_placed", {}))[0]
        for n in range(120)
    }

    async def drain(owner: str) -> list[int]:
        got: list[int] = []
        while batch := await inbox.claim(owner, limit=7):
            got += [e.id for e in batch]
            assert all(e.claimed_by == owner for e in batch)
            await asyncio.sleep(0)
        return got

    first, second = await asyncio.gather(drain("relay-1"), drain("relay-2"))
    assert not set(first) & set(second)
    assert sorted(first + second) == sorted(ids)


async def test_a_crashed_relays_claim_expires_and_the_entry_is_claimed_again(
    sessionmaker,
) -> None:
    inbox = InboxRepository(sessionmaker)
    entry_id, _ = await inbox.add("store", "x", "order:store:x", "order_placed", {})
    now = datetime.now(UTC)
    assert [e.id for e in await inbox.claim("crashed", lease_s=30, now=now)] == [entry_id]
    assert await inbox.claim("other", now=now + timedelta(seconds=29)) == []

    again = await inbox.claim("other", now=now + timedelta(seconds=31))
    assert [(e.id, e.claimed_by) for e in again] == [(entry_id, "other")]
    # The crashed relay waking up late cannot undo the new claim.
    await inbox.release([entry_id], owner="crashed")
    await inbox.mark_failed([entry_id], "late", owner="crashed")
    held = await inbox.get(entry_id)
    assert held is not None
    assert (held.claimed_by, held.attempts, held.status) == ("other", 0, "pending")


async def test_a_failed_entry_is_not_claimed_before_its_back_off_ends(sessionmaker) -> None:
    inbox = InboxRepository(sessionmaker)
    entry_id, _ = await inbox.add("store", "y", "order:store:y", "order_placed", {})
    now = datetime.now(UTC)
    await inbox.claim("relay", now=now)
    await inbox.mark_failed(
        [entry_id], "Temporal is not reachable", retry_at=now + timedelta(seconds=5)
    )
    assert await inbox.claim("relay", now=now + timedelta(seconds=4)) == []
    assert [e.id for e in await inbox.claim("relay", now=now + timedelta(seconds=6))] == [entry_id]
