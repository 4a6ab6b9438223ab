"""The engine's ceiling: a bare workflow of N no-op activities, and its worker process
(`python -m retaguarda.bench.bare --queue Q --activities-local`), tuned like the orders
worker and using the same data converter (pydantic + encryption codec)."""

from __future__ import annotations

import argparse
import asyncio
from datetime import timedelta

from temporalio import activity, workflow
from temporalio.worker import Worker

NOOP = "bench_noop"


@activity.defn(name=NOOP)
async def noop(step: int) -> int:
    return step


@workflow.defn(name="BareWorkflow")
class BareWorkflow:
    @workflow.run
    async def run(self, steps: int) -> int:
        for step in range(steps):
            await workflow.execute_activity(
                NOOP, step, result_type=int, start_to_close_timeout=timedelta(seconds=30)
            )
        return steps


async def serve(queue: str) -> None:
    from config.settings import Settings
    from workers.orders import TUNING
    from workers.runtime import connect_with_retry

    client = await connect_with_retry(Settings())
    worker = Worker(client, task_queue=queue, workflows=[BareWorkflow], activities=[noop], **TUNING)
    await worker.run()


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--queue", required=True)
    asyncio.run(serve(parser.parse_args().queue))
