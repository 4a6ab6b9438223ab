"""Finance activities (the `finance` queue): accrue receivables, reconcile a night.

Reconciliation is heavy and resumable. It runs in stages, each leaving a file in the
night's folder, and heartbeats the stage reached (and, while storing, the chunks stored):

    fetched   the provider's release report, downloaded
    exported  our receivables around the night, exported (COPY on PostgreSQL)
    matched   the results, classified by DuckDB, as numbered chunk files
    stored    every chunk replaced in the database, the run marked done

A retry after a worker died reads the last heartbeat and goes on from there with the
same files, so it gives the same result as an attempt that was never interrupted; a new
run of the same night (a rerun) starts from the top and replaces the night's results
whole, so running a night twice changes nothing."""

from __future__ import annotations

import asyncio
import contextlib
import shutil
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator, Mapping
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

from temporalio import activity

from activities.settlement import night_report
from db.receivables import ReceivableRepository
from db.reconciliation import ReconciliationRepository
from domain.errors import ProviderRejected
from domain.receivables import ChannelTerms
from domain.reconciliation import (
    NEEDS_PERSON,
    AccrualResult,
    AccrueRequest,
    ReconcileRequest,
    ReconcileResult,
    ReconKind,
)
from integrations.bank.client import BankClient
from integrations.documents.settlement import SettlementDocuments
from integrations.finance.bank_match import match_bank
from integrations.finance.marketplace_match import (
    CHARGEBACKS_FILE,
    Chunk,
    MatchOutcome,
    MatchStep,
    as_steps,
    marketplace_steps,
    read_chargebacks,
)
from integrations.payments.client import PaymentsClient, release_report_name
from workflows import steps
from workflows.steps import implements

STAGES = ("fetched", "exported", "matched", "stored")


@dataclass(frozen=True)
class FinanceConfig:
    terms: Mapping[str, ChannelTerms]
    timezone: str
    work_dir: Path
    window_days: int = 120
    chunk_rows: int = 250_000


@dataclass
class Progress:
    """What the last heartbeat of this night said (empty on a first attempt)."""

    day: str = ""
    stage: str = ""
    stored: list[int] | None = None  # chunk indices stored
    lines: int = 0
    classified: dict[str, int] | None = None

    def reached(self, stage: str) -> bool:
        return bool(self.stage) and STAGES.index(self.stage) >= STAGES.index(stage)

    @classmethod
    def resumed(cls, day: date) -> Progress:
        details = activity.info().heartbeat_details
        if details and isinstance(details[0], dict) and details[0].get("day") == day.isoformat():
            known = {k: v for k, v in details[0].items() if k in cls.__dataclass_fields__}
            return cls(**known)
        return cls(day=day.isoformat())

    def beat(self, stage: str, **changes: Any) -> None:
        self.stage = stage
        for name, value in changes.items():
            setattr(self, name, value)
        activity.heartbeat(
            {"day": self.day, "stage": self.stage, "stored": sorted(self.stored or []),
             "lines": self.lines, "classified": self.classified}
        )  # fmt: skip


class FinanceActivities:
    def __init__(
        self,
        receivables: ReceivableRepository,
        results: ReconciliationRepository,
        payments: PaymentsClient,
        config: FinanceConfig,
        bank: BankClient | None = None,
        refresh_margins: Callable[[], Awaitable[int]] | None = None,
        settlements: SettlementDocuments | None = None,
    ) -> None:
        self._receivables = receivables
        self._results = results
        self._payments = payments
        self._config = config
        self._bank = bank
        self._refresh_margins = refresh_margins
        self._settlements = settlements  # reports a seller portal's bot downloaded

    @implements(steps.ACCRUE_RECEIVABLES)
    async def accrue_receivables(self, request: AccrueRequest) -> AccrualResult:
        """The sweep (orders the payment-time accrual missed), then the margins of the
        orders that changed (the NF-e's taxes are known by now)."""
        result = await self._receivables.accrue(self._config.terms, self._config.timezone)
        if self._refresh_margins is not None:
            await self._refresh_margins()
        return result

    @implements(steps.RECONCILE_MARKETPLACE)
    async def reconcile_marketplace(self, request: ReconcileRequest) -> ReconcileResult:
        day = _night(request)

        async def fetch(folder: Path) -> Path:
            if not request.portal_reports:  # every channel's lines from the API
                return await self._payments.release_report(day, folder)
            return await night_report(
                self._payments, self._settlements, day, folder, request.portal_reports
            )

        async def export(folder: Path) -> Path:
            await self._receivables.export(
                folder / "receivables.csv", day, self._config.window_days
            )
            return folder / "receivables.csv"

        def match(source: Path, expected: Path, folder: Path) -> Iterator[MatchStep]:
            return marketplace_steps(
                source, expected, day, folder,
                chunk_rows=self._config.chunk_rows, tolerance=request.tolerance,
            )  # fmt: skip

        return await self._reconcile(ReconKind.MARKETPLACE, day, fetch, export, match)

    @implements(steps.RECONCILE_BANK)
    async def reconcile_bank(self, request: ReconcileRequest) -> ReconcileResult:
        day = _night(request)
        if self._bank is None:
            raise ProviderRejected("no bank is configured for this worker", provider="bank")
        bank = self._bank

        async def fetch(folder: Path) -> Path:
            return await bank.statement(day, folder, self._config.timezone)

        async def export(folder: Path) -> Path:
            path = folder / "expected.csv"
            await self._results.export_expected(path, day, request.date_tolerance_days)
            return path

        def match(source: Path, expected: Path, folder: Path) -> Iterator[MatchStep]:
            return as_steps(
                lambda: match_bank(
                    source, expected, day, folder, tolerance=request.tolerance,
                    date_tolerance_days=request.date_tolerance_days,
                    chunk_rows=self._config.chunk_rows,
                )
            )  # fmt: skip

        return await self._reconcile(ReconKind.BANK, day, fetch, export, match)

    async def _reconcile(
        self,
        kind: ReconKind,
        day: date,
        fetch: Callable[[Path], Awaitable[Path]],
        export: Callable[[Path], Awaitable[Path]],
        match: Callable[[Path, Path, Path], Iterator[MatchStep]],
    ) -> ReconcileResult:
        """The stages (module docstring), each skipped when this attempt resumes past it."""
        folder = self._config.work_dir / kind.value / day.isoformat()
        progress = Progress.resumed(day)
        fetched = folder / (
            release_report_name(day) if kind is ReconKind.MARKETPLACE else "statement.csv"
        )
        if not (progress.reached("fetched") and fetched.exists()):
            progress = Progress(day=day.isoformat())
            _clear_results(folder)
            fetched = await fetch(folder)
            progress.beat("fetched")
        expected = folder / _EXPECTED[kind]
        exported = progress.reached("exported") and expected.exists()
        outcome = self._chunks_on_disk(folder, progress) if exported else None
        if outcome is not None:  # matched by an earlier attempt: store what is left
            await self._results.begin(kind.value, day, fetched.name)  # it may have died first
            await self._store(kind.value, day, outcome.chunks, progress)
        else:
            _clear_results(folder)
            outcome = await self._match_and_store(
                kind.value, day, fetched.name, progress, match(fetched, expected, folder),
                None if exported else (lambda: export(folder)),
            )  # fmt: skip
        if kind is ReconKind.MARKETPLACE:  # chargebacks adjust their receivables
            taken = await asyncio.to_thread(read_chargebacks, folder / CHARGEBACKS_FILE)
            await self._receivables.record_chargebacks(day, taken)
        alerts = sum(n for cls, n in outcome.classified.items() if cls in NEEDS_PERSON)
        await self._results.finish(kind.value, day, outcome.lines, outcome.classified, alerts)
        progress.beat("stored")
        return ReconcileResult(
            kind=kind, day=day, lines=outcome.lines, classified=outcome.classified,
            alerts=alerts, source=fetched.name,
        )  # fmt: skip

    async def _match_and_store(
        self,
        kind: str,
        day: date,
        source: str,
        progress: Progress,
        steps: Iterator[MatchStep],
        export: Callable[[], Awaitable[Path]] | None,
    ) -> MatchOutcome:
        """Match and store as a pipeline: the report is read while the receivables are
        exported, and each chunk is stored while the next is written. The numbering is
        stable, so the chunks an earlier attempt stored from the same files stay stored."""
        kept = list(progress.stored or []) if export is None and progress.reached("matched") else []
        known = (progress.lines, progress.classified)
        matcher = _Steps(steps)
        try:
            if export is not None:  # the database exports while DuckDB reads the report
                await _together(export(), matcher.next())
                progress.beat("exported")
            else:
                await matcher.next()
            counted = await matcher.next()
            assert isinstance(counted, MatchOutcome)
            if not (kept and known == (counted.lines, counted.classified)):
                kept = []
                progress.beat(
                    "matched", stored=[], lines=counted.lines, classified=counted.classified
                )
            await self._results.begin(kind, day, source)
            chunks = await self._store(kind, day, matcher.chunks(), progress, kept)
        finally:
            await matcher.close()
        return MatchOutcome(counted.lines, counted.classified, chunks)

    async def _store(
        self,
        kind: str,
        day: date,
        chunks: list[Chunk] | AsyncIterator[Chunk],
        progress: Progress,
        stored: list[int] | None = None,
    ) -> list[Chunk]:
        """Load the chunks not stored yet as they come, as many at once as the database
        takes writers (the next one is being written meanwhile); heartbeat each one
        stored. Returns every chunk."""
        done = set((progress.stored or []) if stored is None else stored)
        gate = asyncio.Semaphore(self._results.concurrent_writers)
        seen: list[Chunk] = []

        async def one(index: int, chunk: Chunk) -> None:
            try:
                await self._results.store_chunk(kind, day, chunk.path, chunk.first, chunk.last)
                done.add(index)
                progress.beat("matched", stored=sorted(done))
            finally:
                gate.release()

        try:
            async with asyncio.TaskGroup() as group:  # one failing cancels the others
                async for chunk in _each(chunks):
                    seen.append(chunk)
                    if len(seen) - 1 not in done:
                        await gate.acquire()  # a few loading, the next being written
                        group.create_task(one(len(seen) - 1, chunk))
        except BaseExceptionGroup as failed:
            raise failed.exceptions[0] from None  # the error itself, for Temporal and ops
        return seen

    def _chunks_on_disk(self, folder: Path, progress: Progress) -> MatchOutcome | None:
        """The outcome of an earlier attempt's matching, when this attempt resumes it."""
        if not progress.reached("matched") or progress.classified is None:
            return None
        paths = sorted(folder.glob("results-*.csv"))
        size = self._config.chunk_rows
        chunks = [
            Chunk(path, 1 + i * size, min((i + 1) * size, progress.lines))
            for i, path in enumerate(paths)
        ]
        if len(chunks) != -(-progress.lines // size):
            return None  # files gone or not all written: match again
        return MatchOutcome(progress.lines, dict(progress.classified), chunks)


class _Steps:
    """A matcher's steps, each run in a worker thread (DuckDB releases the GIL) while the
    event loop goes on storing. A step under way is never abandoned: cancelled, the caller
    still waits for it in `close`, so no thread writes into the night's folder after."""

    def __init__(self, steps: Iterator[MatchStep]) -> None:
        self._steps = steps
        self._running: asyncio.Future[MatchStep | None] | None = None

    async def next(self) -> MatchStep | None:
        loop = asyncio.get_running_loop()
        self._running = loop.run_in_executor(None, next, self._steps, None)
        return await asyncio.shield(self._running)

    async def chunks(self) -> AsyncIterator[Chunk]:
        while (step := await self.next()) is not None:
            assert isinstance(step, Chunk), step
            yield step

    async def close(self) -> None:
        if self._running is not None:
            with contextlib.suppress(BaseException):
                await self._running
        self._steps.close()  # type: ignore[attr-defined]


async def _together(*jobs: Awaitable[Any]) -> None:
    """Run `jobs` at once; the first to fail cancels the others and is raised itself."""
    try:
        async with asyncio.TaskGroup() as group:
            for job in jobs:
                group.create_task(job)  # type: ignore[arg-type]
    except BaseExceptionGroup as failed:
        raise failed.exceptions[0] from None


async def _each(chunks: list[Chunk] | AsyncIterator[Chunk]) -> AsyncIterator[Chunk]:
    if isinstance(chunks, list):
        for chunk in chunks:
            yield chunk
    else:
        async for chunk in chunks:
            yield chunk


_EXPECTED = {ReconKind.MARKETPLACE: "receivables.csv", ReconKind.BANK: "expected.csv"}


def _night(request: ReconcileRequest) -> date:
    if request.day is None:
        raise ValueError("the workflow names the night to reconcile")
    return request.day


def _clear_results(folder: Path) -> None:
    for path in folder.glob("results-*.csv"):
        path.unlink()
    (folder / CHARGEBACKS_FILE).unlink(missing_ok=True)
    shutil.rmtree(folder / "tmp", ignore_errors=True)
