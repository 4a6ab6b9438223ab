"""A night's reconciliation survives a real SIGKILL of its worker in the middle of storing
its lines: on a real dev server, a finance worker in a process of its own is killed once
some chunks are committed and others are not; a new worker resumes the same attempt's
work from the last heartbeat (after the heartbeat timeout), and the night ends with
exactly the lines and counts of a run that was never killed."""

from __future__ import annotations

import asyncio
import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path

import pytest
from temporalio.api.enums.v1 import EventType
from temporalio.testing import ActivityEnvironment, WorkflowEnvironment

from activities.finance import FinanceActivities, FinanceConfig
from db.receivables import ReceivableRepository
from db.reconciliation import ReconciliationRepository
from db.session import create_engine, create_sessionmaker
from domain.receivables import default_terms
from domain.reconciliation import (
    ReconcileRequest,
    ReconcileResult,
    ReconKind,
    reconciliation_workflow_id,
)
from retaguarda.bench.reconcile import DAY, LocalReport, prepare_database, write_report
from workflows.reconciliation import ReconciliationWorkflow

pytestmark = pytest.mark.e2e

LINES = 300_000
CHUNK_ROWS = 50_000  # seven chunks: a kill lands between two of them
ROOT = Path(__file__).resolve().parents[2]


@contextmanager
def worker(
    address: str, queue: str, url: str, report: Path, work: Path
) -> Iterator[subprocess.Popen[str]]:
    proc = subprocess.Popen(
        [sys.executable, "-m", "tests.support.finance_worker", address, queue, url,
         str(report), str(work), str(CHUNK_ROWS)],
        cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
        stdin=subprocess.DEVNULL, start_new_session=True,
    )  # fmt: skip
    try:
        assert proc.stdout is not None
        assert proc.stdout.readline().strip() == "ready", "the finance worker did not start"
        yield proc
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
        if proc.stdout is not None:
            proc.stdout.close()


def stored(path: Path) -> tuple[str, int]:
    """The night's run row as the store left it: its status and the highest line stored."""
    with sqlite3.connect(path, timeout=5) as db:
        row = db.execute("SELECT status, stored_through FROM reconciliation_runs").fetchone()
    return (row[0], int(row[1] or 0)) if row else ("", 0)


async def clean_run(url: str, report: Path, work: Path) -> tuple[ReconcileResult, list[object]]:
    engine = create_engine(url)
    sessions = create_sessionmaker(engine)
    results = ReconciliationRepository(sessions)
    activities = FinanceActivities(
        ReceivableRepository(sessions), results, LocalReport(report),  # type: ignore[arg-type]
        FinanceConfig(terms=default_terms(), timezone="UTC", work_dir=work,
                      chunk_rows=CHUNK_ROWS),
    )  # fmt: skip
    try:
        request = ReconcileRequest(kind=ReconKind.MARKETPLACE, day=DAY)
        result = await ActivityEnvironment().run(activities.reconcile_marketplace, request)
        return result, list(await results.fingerprint("marketplace", DAY))
    finally:
        await engine.dispose()


async def fingerprint(url: str) -> list[object]:
    engine = create_engine(url)
    try:
        rows = await ReconciliationRepository(create_sessionmaker(engine)).fingerprint(
            "marketplace", DAY
        )
        return list(rows)
    finally:
        await engine.dispose()


async def test_a_night_killed_mid_store_resumes_to_the_same_lines(
    dev_env: WorkflowEnvironment, tmp_path: Path
) -> None:
    prepared, report = tmp_path / "prepared.db", tmp_path / "report.csv"
    await prepare_database(f"sqlite+aiosqlite:///{prepared}", LINES)
    write_report(report, LINES)
    killed_db = tmp_path / "killed.db"
    shutil.copyfile(prepared, tmp_path / "clean.db")
    shutil.copyfile(prepared, killed_db)
    clean, expected = await clean_run(
        f"sqlite+aiosqlite:///{tmp_path / 'clean.db'}", report, tmp_path / "clean-work"
    )

    url = f"sqlite+aiosqlite:///{killed_db}"
    address = dev_env.client.service_client.config.target_host
    queue = f"finance-kill-{uuid.uuid4().hex[:8]}"
    request = ReconcileRequest(
        kind=ReconKind.MARKETPLACE, day=DAY, finance_queue=queue, rpa_queue=f"{queue}-rpa"
    )
    work = tmp_path / "work"
    with worker(address, queue, url, report, work) as first:
        handle = await dev_env.client.start_workflow(
            ReconciliationWorkflow.run, request, id=reconciliation_workflow_id(
                ReconKind.MARKETPLACE, DAY) + f":{queue}", task_queue=queue,
            execution_timeout=timedelta(minutes=5),
        )  # fmt: skip
        deadline = time.monotonic() + 120
        while (at_kill := stored(killed_db))[1] < CHUNK_ROWS:
            assert time.monotonic() < deadline, "no chunk was ever stored"
            assert first.poll() is None, "the worker died by itself"
            await asyncio.sleep(0.01)
        os.killpg(first.pid, signal.SIGKILL)
        first.wait()
    status, through = at_kill
    assert status == "running"
    assert CHUNK_ROWS <= through < clean.lines, "the kill did not land mid-store"
    assert stored(killed_db) == at_kill  # nothing moves while no worker runs

    with worker(address, queue, url, report, work):
        result = await asyncio.wait_for(handle.result(), timeout=150)

    assert result == clean
    assert await fingerprint(url) == expected
    assert stored(killed_db) == ("done", clean.lines)
    attempts = [
        e.activity_task_started_event_attributes.attempt
        async for e in handle.fetch_history_events()
        if e.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_STARTED
    ]
    assert max(attempts) == 2, f"the step ran {attempts}: it should have been retried once"
