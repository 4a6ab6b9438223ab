"""What every worker process shares: connecting to Temporal (waiting while it starts),
registering the search attributes, collecting the activities of one queue, running."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Sequence
from contextlib import AsyncExitStack
from typing import Any

from temporalio.client import Client
from temporalio.service import RPCError
from temporalio.worker import Worker

from activities.errors import ErrorTranslation
from config.settings import Settings
from config.temporal import connect, register_search_attributes
from workflows.steps import Queue, queue_steps, step_of

log = logging.getLogger("retaguarda.worker")

# A queue's composition root: builds its activity holders (objects whose methods
# implement steps) from the settings, closing what it opens on the stack.
BuildHolders = Callable[[Settings, AsyncExitStack, Client], Awaitable[Sequence[object]]]


def activities_of(holders: Sequence[object], queue: Queue) -> list[Callable[..., Any]]:
    """The bound methods of `holders` that implement a step of `queue`, each once."""
    found: dict[str, Callable[..., Any]] = {}
    for holder in holders:
        for name in dir(type(holder)):
            step = step_of(getattr(type(holder), name))
            if step is None or step.queue is not queue:
                continue
            method = getattr(holder, name)
            if step.name in found:
                raise RuntimeError(f"step {step.name} is implemented twice on the {queue} queue")
            found[step.name] = method
    missing = {s.name for s in queue_steps(queue)} - set(found)
    if missing:
        raise RuntimeError(
            f"the {queue} worker implements no activity for step(s) {', '.join(sorted(missing))}"
        )
    return list(found.values())


async def connect_with_retry(settings: Settings, attempts: int = 120) -> Client:
    codec_key = settings.secrets.codec_key.get_secret_value()
    for attempt in range(1, attempts + 1):
        try:
            return await connect(settings.temporal.address, settings.temporal.namespace, codec_key)
        except RuntimeError as exc:
            if attempt == attempts:
                raise
            log.warning("Temporal not reachable yet (%s); retrying", exc)
            await asyncio.sleep(1.0)
    raise AssertionError("unreachable")


def task_queue(settings: Settings, queue: Queue) -> str:
    return settings.temporal.task_queues().name(queue.value)


async def run_worker(
    settings: Settings,
    queue: Queue,
    build: BuildHolders,
    *,
    workflows: Sequence[type] = (),
    client: Client | None = None,
    tuning: dict[str, Any] | None = None,
    on_connect: Callable[[Client], Awaitable[None]] | None = None,
) -> None:
    """Run one queue's worker until cancelled."""
    if not queue_steps(queue) and not workflows:
        raise RuntimeError(f"no step is declared on the {queue} queue yet: there is nothing to run")
    async with AsyncExitStack() as stack:
        client = client or await connect_with_retry(settings)
        try:
            await register_search_attributes(client, settings.temporal.namespace)
        except RPCError as exc:  # e.g. no operator rights: the server may have them already
            log.warning("could not register search attributes: %s", exc.message)
        if on_connect is not None:
            await on_connect(client)
        activities = activities_of(await build(settings, stack, client), queue)
        worker = Worker(
            client,
            task_queue=task_queue(settings, queue),
            workflows=list(workflows),
            activities=activities,
            interceptors=[ErrorTranslation()],
            **(tuning or {}),
        )
        log.info("%s worker polling %s", queue, task_queue(settings, queue))
        await worker.run()
