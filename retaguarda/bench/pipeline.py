"""`retaguarda bench pipeline`: orders completed per second end to end on the embedded
stack, beside the engine's ceiling measured in the same run.

One run: an embedded stack of its own (Temporal dev server on a SQLite file, sandbox,
API, orders worker) on free ports, sandbox faults and latencies at zero, the carrier
moving a parcel a tracking state every `carrier_step_s`; then

1. the ceiling: `bare` workflows of 8 no-op activities on a worker process tuned like
   the orders worker (same data converter), started at once, timed to the last result;
2. the pipeline: `orders` demo orders (store and marketplace, every one paid at once,
   placed back to back, an instant warehouse robot) timed from the first placed to the
   last delivered;
3. the ceiling again, after the orders, on the same (fuller) database.

`bare_per_s` is the median of the two ceilings; `ratio = orders_per_s / bare_per_s`."""

from __future__ import annotations

import asyncio
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

from temporalio.api.enums.v1 import EventType
from temporalio.client import WorkflowHistory

from config.settings import SandboxSettings, Settings
from config.temporal import connect
from retaguarda.bench.bare import BareWorkflow
from retaguarda.bench.processes import bench_settings, child_env, cpu_seconds, free_port
from retaguarda.demo.driver import Pace, drive_demo
from retaguarda.stack import running_stack

BARE_COST: dict[str, int] = {}  # one bare workflow's history: events, workflow tasks
PIPELINE_ENV = {
    "RETAGUARDA_SANDBOX__FAULT_RATE": "0",
    "RETAGUARDA_SANDBOX__CARRIER_STEP_S": "0.05",
    "RETAGUARDA_LOG_LEVEL": "WARNING",
}
PACE = Pace(
    all_paid=True, place_gap_s=(0.0, 0.0), robot_interval_s=0.05, mistake_rate=0.0, poll_s=0.25
)


def run_pipeline_bench(
    base: Settings,
    *,
    orders: int = 300,
    bare: int = 300,
    steps: int = 8,
    db_url: str = "",
    seed: int = 42,
    timeout_s: float = 1800,
) -> dict[str, Any]:
    where = Path(tempfile.mkdtemp(prefix="retaguarda-bench-pipeline-"))
    settings = bench_settings(base, where.resolve(), db_url).model_copy(
        update={"sandbox": SandboxSettings(port=free_port(), carrier_step_s=0.05)}
    )
    env = child_env(
        settings,
        {
            **PIPELINE_ENV,
            "RETAGUARDA_SANDBOX__SEED": str(seed),
            "RETAGUARDA_SANDBOX__PORT": str(settings.sandbox.port),
        },
    )
    try:
        with running_stack(settings, env) as stack:
            ceiling_before = _ceiling(settings, stack.env, bare, steps)
            cpu_before = _cpu(stack.processes)
            summary = asyncio.run(drive_demo(settings, orders, 0.0, seed, timeout_s, pace=PACE))
            cpu_after = _cpu(stack.processes)
            engine = asyncio.run(_engine_cost(settings))
            ceiling_after = _ceiling(settings, stack.env, bare, steps)
    finally:
        shutil.rmtree(where, ignore_errors=True)
    delivered = summary["statuses"].get("delivered", 0)
    orders_per_s = delivered / summary["run_s"] if summary["run_s"] else 0.0
    bare_per_s = statistics.median([ceiling_before, ceiling_after])
    return {
        "orders": orders,
        "delivered": delivered,
        "not_terminal": len(summary["not_terminal"]),
        "orders_run_s": summary["run_s"],
        "orders_per_s": round(orders_per_s, 3),
        "bare_workflows": bare,
        "bare_activities": steps,
        "bare_per_s": round(bare_per_s, 3),
        "bare_per_s_before_after": [round(ceiling_before, 3), round(ceiling_after, 3)],
        "bare_engine": dict(BARE_COST),
        "ratio": round(orders_per_s / bare_per_s, 3) if bare_per_s else 0.0,
        "database": "postgresql" if db_url.startswith("postgres") else "sqlite",
        "cpu_s_during_orders": {
            name: round(cpu_after.get(name, 0) - cpu_before.get(name, 0), 1) for name in cpu_after
        },
        "phases_p50_s": {k: v["p50"] for k, v in summary["phases"].items()},
        "engine": engine,
    }


def _ceiling(settings: Settings, env: dict[str, str], count: int, steps: int) -> float:
    """Bare workflows completed per second, on a worker process of their own."""
    queue = f"bench-bare-{uuid.uuid4().hex[:8]}"
    worker = subprocess.Popen(
        [sys.executable, "-m", "retaguarda.bench.bare", "--queue", queue],
        env={**os.environ, **env},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        return asyncio.run(_bare_rate(settings, queue, count, steps))
    finally:
        worker.terminate()
        worker.wait(timeout=30)


async def _bare_rate(settings: Settings, queue: str, count: int, steps: int) -> float:
    client = await connect(
        settings.temporal.address,
        settings.temporal.namespace,
        settings.secrets.codec_key.get_secret_value(),
    )
    await _one(client, queue, steps, "warm-up")  # the worker is polling
    history = await client.get_workflow_handle(f"{queue}-warm-up").fetch_history()
    BARE_COST.update(
        events=len(history.events),
        workflow_tasks=completed_tasks(history),
    )
    started = time.monotonic()
    handles = await asyncio.gather(
        *(
            client.start_workflow(BareWorkflow.run, steps, id=f"{queue}-{i}", task_queue=queue)
            for i in range(count)
        )
    )
    await asyncio.gather(*(h.result() for h in handles))
    return count / (time.monotonic() - started)


async def _engine_cost(settings: Settings, sample: int = 25) -> dict[str, float]:
    """What the engine did per order: history events and workflow tasks of a sample of
    order workflows, and of every stock-sync workflow spread over all the orders,
    beside one bare workflow's."""
    client = await connect(
        settings.temporal.address,
        settings.temporal.namespace,
        settings.secrets.codec_key.get_secret_value(),
    )

    async def tally(query: str, limit: int | None) -> tuple[int, int, int]:
        runs = events = tasks = 0
        async for wf in client.list_workflows(query, limit=limit):
            history = await client.get_workflow_handle(wf.id, run_id=wf.run_id).fetch_history()
            runs += 1
            events += len(history.events)
            tasks += completed_tasks(history)
        return runs, events, tasks

    orders, order_events, order_tasks = await tally("WorkflowType = 'OrderWorkflow'", sample)
    all_orders = (await client.count_workflows("WorkflowType = 'OrderWorkflow'")).count
    _, sync_events, sync_tasks = await tally("WorkflowType = 'StockSyncWorkflow'", None)
    per = max(orders, 1)
    return {
        "order_events": round(order_events / per, 1),
        "order_workflow_tasks": round(order_tasks / per, 1),
        "stock_sync_events_per_order": round(sync_events / max(all_orders, 1), 1),
        "stock_sync_workflow_tasks_per_order": round(sync_tasks / max(all_orders, 1), 1),
    }


def completed_tasks(history: WorkflowHistory) -> int:
    done = EventType.EVENT_TYPE_WORKFLOW_TASK_COMPLETED
    return sum(1 for e in history.events if e.event_type == done)


def _cpu(processes: dict[str, subprocess.Popen[bytes]]) -> dict[str, float]:
    return {name: cpu_seconds(p.pid) or 0.0 for name, p in processes.items()}


async def _one(client: Any, queue: str, steps: int, name: str) -> None:
    await client.execute_workflow(BareWorkflow.run, steps, id=f"{queue}-{name}", task_queue=queue)
