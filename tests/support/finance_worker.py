"""A finance worker in a process of its own, for tests that SIGKILL it mid-step:
the real `FinanceActivities` and `ReconciliationWorkflow` on a task queue, the release
report taken from a local file (retaguarda/bench/reconcile.py `LocalReport`).

    python -m tests.support.finance_worker ADDRESS QUEUE DB_URL REPORT WORK_DIR CHUNK_ROWS

Prints "ready" once it polls."""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path


async def main(address: str, queue: str, url: str, report: Path, work: Path, rows: int) -> None:
    from temporalio.client import Client
    from temporalio.worker import Worker

    from activities.errors import ErrorTranslation
    from activities.finance import FinanceActivities, FinanceConfig
    from config.temporal import data_converter
    from db.receivables import ReceivableRepository
    from db.reconciliation import ReconciliationRepository
    from db.session import create_engine, create_sessionmaker
    from domain.receivables import default_terms
    from retaguarda.bench.reconcile import LocalReport
    from workers.runtime import activities_of
    from workflows.reconciliation import ReconciliationWorkflow
    from workflows.steps import Queue

    client = await Client.connect(address, data_converter=data_converter())
    sessions = create_sessionmaker(create_engine(url))
    finance = FinanceActivities(
        ReceivableRepository(sessions),
        ReconciliationRepository(sessions),
        LocalReport(report),  # type: ignore[arg-type]
        FinanceConfig(terms=default_terms(), timezone="UTC", work_dir=work, chunk_rows=rows),
    )
    async with Worker(
        client, task_queue=queue, workflows=[ReconciliationWorkflow],
        activities=activities_of([finance], Queue.FINANCE), interceptors=[ErrorTranslation()],
    ):  # fmt: skip
        print("ready", flush=True)
        await asyncio.Event().wait()


if __name__ == "__main__":
    address, queue, url, report, work, rows = sys.argv[1:7]
    asyncio.run(main(address, queue, url, Path(report), Path(work), int(rows)))
