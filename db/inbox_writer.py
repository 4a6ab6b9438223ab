"""Group commit of inbox inserts: concurrent requests share one transaction.

A transaction through SQLAlchemy and aiosqlite costs the event loop about a millisecond
of CPU whatever it holds (measured in docs/BENCHMARKS.md, "Intake"), so one per webhook
caps intake at a few hundred per second. `InboxWriter.add` queues the row and waits; one
writer task takes everything queued, inserts it with a single multi-row
``INSERT ... ON CONFLICT DO NOTHING RETURNING`` and commits, then answers each caller.
While it commits, new rows queue up for the next round, so batches grow with the load
and an idle API still answers at once (no timer). A row that meets an existing entry
(a duplicate, or an event waiting in quarantine) takes the one-by-one path of
`InboxRepository.add`, which knows what to do with it.
"""

from __future__ import annotations

import asyncio
import logging
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import Table
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from db.inbox import InboxRepository
from db.models import InboxRow
from db.session import sqlite_thread_engine
from db.types import utcnow

log = logging.getLogger("retaguarda.inbox")


def _insert(dialect: str) -> Any:
    insert = postgresql.insert(INBOX) if dialect == "postgresql" else sqlite.insert(INBOX)
    return insert.on_conflict_do_nothing(index_elements=["source", "event_id"]).returning(
        INBOX.c.id, INBOX.c.source, INBOX.c.event_id
    )


INBOX: Table = InboxRow.__table__  # type: ignore[assignment]


@dataclass
class _Pending:
    row: dict[str, Any]
    done: asyncio.Future[tuple[int, bool]] = field(
        default_factory=lambda: asyncio.get_running_loop().create_future()
    )


class InboxWriter:
    def __init__(
        self,
        sessionmaker: async_sessionmaker[AsyncSession],
        inbox: InboxRepository,
        *,
        max_batch: int = 500,
    ) -> None:
        self._sessionmaker = sessionmaker
        self._inbox = inbox
        self._max_batch = max_batch
        self._queue: list[_Pending] = []
        self._ready = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._closing = False
        bind = sessionmaker.kw.get("bind")
        self._thread_engine = sqlite_thread_engine(bind) if isinstance(bind, AsyncEngine) else None
        self._thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="inbox-writer")

    def _insert_in_thread(self, rows: list[dict[str, Any]]) -> dict[tuple[str, str], int]:
        assert self._thread_engine is not None
        with self._thread_engine.begin() as conn:
            inserted = conn.execute(_insert("sqlite"), rows)
            return {(r.source, r.event_id): int(r.id) for r in inserted}

    async def add(
        self,
        source: str,
        event_id: str,
        workflow_id: str,
        kind: str,
        payload: dict[str, Any],
        *,
        at: datetime | None = None,
    ) -> tuple[int, bool]:
        """Like `InboxRepository.add` (returns (id, is_new)), committed with whatever
        else is being stored at the same moment."""
        pending = _Pending(
            {
                "source": source,
                "event_id": event_id,
                "workflow_id": workflow_id,
                "kind": kind,
                "payload": payload,
                "received_at": at or utcnow(),
                "status": "pending",
                "attempts": 0,
            }
        )
        self._queue.append(pending)
        self._ready.set()
        if self._task is None or self._task.done():
            self._task = asyncio.create_task(self._run(), name="inbox-writer")
        return await asyncio.shield(pending.done)

    async def close(self) -> None:
        """Finish what is queued, then stop the writer task."""
        self._closing = True
        self._ready.set()
        if self._task is not None:
            await self._task
        self._thread.shutdown(wait=True)
        if self._thread_engine is not None:
            self._thread_engine.dispose()

    async def _run(self) -> None:
        while not self._closing or self._queue:
            await self._ready.wait()
            self._ready.clear()
            while self._queue:
                batch = self._queue[: self._max_batch]
                del self._queue[: len(batch)]
                try:
                    await self._write(batch)
                except Exception as exc:  # each caller gets the error, the writer goes on
                    log.exception("inbox group insert of %s rows failed", len(batch))
                    for pending in batch:
                        if not pending.done.done():
                            pending.done.set_exception(exc)

    async def _write(self, batch: list[_Pending]) -> None:
        rows = [p.row for p in batch]
        if self._thread_engine is not None:  # SQLite: the whole transaction in one hop
            ids = await asyncio.get_running_loop().run_in_executor(
                self._thread, self._insert_in_thread, rows
            )
        else:
            async with self._sessionmaker() as s:
                conn = await s.connection()
                inserted = await conn.execute(_insert(conn.dialect.name), rows)
                ids = {(r.source, r.event_id): int(r.id) for r in inserted}
                await s.commit()
        conflicted: list[_Pending] = []
        for pending in batch:
            entry_id = ids.pop((pending.row["source"], pending.row["event_id"]), None)
            if entry_id is None:
                conflicted.append(pending)
            else:
                pending.done.set_result((entry_id, True))
        for pending in conflicted:  # duplicates and quarantined events: rare
            row = pending.row
            try:
                result = await self._inbox.add(
                    row["source"],
                    row["event_id"],
                    row["workflow_id"],
                    row["kind"],
                    row["payload"],
                    at=row["received_at"],
                )
            except Exception as exc:
                pending.done.set_exception(exc)
            else:
                pending.done.set_result(result)
