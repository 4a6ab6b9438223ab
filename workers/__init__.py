"""Worker processes: one composition root per task queue (`workers/<queue>.py`), run as
`retaguarda worker --queue orders|rpa|finance`, scaled separately."""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from typing import Any

from temporalio.client import Client

from config.settings import Settings
from workflows.steps import Queue, queue_steps

Runner = Callable[[Settings, Client | None], Coroutine[Any, Any, None]]


def runner(queue: Queue) -> Runner:
    """The queue's worker (imported on demand: the rpa root loads Playwright)."""
    if queue is Queue.ORDERS:
        from workers.orders import run as orders

        return orders
    if queue is Queue.RPA:
        from workers.rpa import run as rpa

        return rpa
    from workers.finance import run as finance

    return finance


def queues_to_run() -> list[Queue]:
    """The queues whose worker has something to run: orders (the workflows) always."""
    return [q for q in Queue if q is Queue.ORDERS or queue_steps(q)]
