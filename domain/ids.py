"""Workflow ids are business keys; idempotency keys derive from them."""

from domain.orders import Channel


def order_workflow_id(channel: Channel | str, external_id: str) -> str:
    return f"order:{Channel(channel).value}:{external_id}"


def parse_order_workflow_id(workflow_id: str) -> tuple[Channel, str]:
    prefix, channel, external_id = workflow_id.split(":", 2)
    if prefix != "order" or not external_id:
        raise ValueError(f"not an order workflow id: {workflow_id!r}")
    return Channel(channel), external_id


def idempotency_key(workflow_id: str, step: str) -> str:
    return f"{workflow_id}:{step}"
