"""Ask the order workflows themselves what they know (the audit's live mode, used by
`retaguarda chaos` while the stack is still up)."""

from __future__ import annotations

import asyncio

from temporalio.client import Client
from temporalio.service import RPCError

from config.settings import Settings
from config.temporal import connect
from domain.steps import OrderState
from workflows.steps import STATE_QUERY


async def workflow_states(
    settings: Settings, order_ids: list[str], concurrency: int = 16
) -> tuple[dict[str, OrderState], list[str]]:
    """Each order workflow's state (running or closed: a worker replays closed ones);
    returns the states and, per order that could not be asked, why."""
    client = await connect(
        settings.temporal.address,
        settings.temporal.namespace,
        settings.secrets.codec_key.get_secret_value(),
    )
    gate = asyncio.Semaphore(concurrency)
    states: dict[str, OrderState] = {}
    problems: list[str] = []

    async def ask(order_id: str, client: Client = client) -> None:
        async with gate:
            try:
                states[order_id] = await client.get_workflow_handle(order_id).query(
                    STATE_QUERY, result_type=OrderState
                )
            except RPCError as exc:
                problems.append(f"{order_id}: the workflow could not be asked ({exc.message})")

    await asyncio.gather(*(ask(o) for o in order_ids))
    return states, sorted(problems)
