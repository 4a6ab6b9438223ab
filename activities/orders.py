"""Order bookkeeping and channel conversations: the read model and audit rows the
workflow's progress leaves behind, fetching a marketplace order, telling the channel."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from db.audit import AuditLog
from db.orders import OrderReadModel
from db.shipments import ShipmentRepository
from domain.channels import CancelledNotice, FetchOrderRequest, ShippedNotice
from domain.errors import ProviderRejected
from domain.freight import TrackingStatus
from domain.orders import Order, OrderStatus
from domain.steps import AttentionChange, RecordOrder, StatusChange
from integrations.channels import ChannelClients
from workflows import steps
from workflows.steps import implements

# Recompute an order's receivable (db/receivables.py `accrue_orders`).
Accrue = Callable[[str], Awaitable[object]]
# Statuses that change what an order is owed: paid, delivered (a release date may count
# from it), cancelled (refunded, or nothing owed on a channel that refunds by itself).
MONEY_STATUSES = frozenset({OrderStatus.PAID, OrderStatus.DELIVERED, OrderStatus.CANCELLED})


async def _nothing(order_id: str) -> None:
    return None


class OrderActivities:
    def __init__(
        self,
        orders: OrderReadModel,
        audit: AuditLog,
        shipments: ShipmentRepository,
        channels: ChannelClients,
        accrue: Accrue = _nothing,
    ) -> None:
        self._orders = orders
        self._audit = audit
        self._shipments = shipments
        self._channels = channels
        self._accrue = accrue

    async def _follow_money(self, change: StatusChange) -> None:
        """Receivables at payment time: in the write that records the status anyway."""
        reached = {change.status, *(e.status for e in change.reached)}
        if reached & MONEY_STATUSES:
            await self._accrue(change.order_id)

    @implements(steps.RECORD_ORDER)
    async def record_order(self, request: RecordOrder) -> None:
        order = request.order
        await self._orders.upsert(
            request.order_id,
            order.channel.value,
            order.external_id,
            status=OrderStatus.RECEIVED,
            at=request.at,
            customer_name=order.customer.name,
            customer_cpf=order.customer.cpf,
            total=order.total,
            items=order.items,
        )

    @implements(steps.RECORD_STATUS)
    async def record_status(self, change: StatusChange) -> None:
        await self._orders.record(change)
        await self._follow_money(change)
        if change.note:
            await self._audit.record(
                "workflow", f"status:{change.status.value}", change.order_id,
                {"note": change.note}, at=change.at,
                key=f"{change.order_id}:status:{change.status.value}:{change.at.isoformat()}",
            )  # fmt: skip

    @implements(steps.RECORD_TRACKING)
    async def record_delivered(self, change: StatusChange) -> None:
        delivered_at = change.occurred_at or change.at
        await self._shipments.record_tracking(
            change.order_id, TrackingStatus.DELIVERED, delivered_at
        )
        await self._orders.record(change)
        await self._follow_money(change)

    @implements(steps.RECORD_ATTENTION)
    async def record_attention(self, change: AttentionChange) -> None:
        """A step got stuck (failure only), ops decided (failure and decision), or an
        overdue wait ended by itself (failure and resolved)."""
        if change.decision is None and not change.resolved and change.failure is not None:
            await self._orders.record_failure(change.order_id, change.failure)
            await self._audit.record(
                "workflow", "needs_attention", change.order_id,
                change.failure.model_dump(mode="json"), at=change.at,
                key=f"{change.order_id}:attention:{change.at.isoformat()}",
            )  # fmt: skip
            return
        await self._orders.clear_attention(change.order_id)
        step = change.failure.step if change.failure else None
        if change.decision is not None:
            details = change.decision.model_dump(mode="json")
            details["step"] = step
            await self._audit.record(
                change.decision.actor, f"ops:{change.decision.action.value}", change.order_id,
                details, at=change.at, key=f"{change.order_id}:decision:{change.at.isoformat()}",
            )  # fmt: skip
        elif change.resolved:
            await self._audit.record(
                "workflow", "attention_resolved", change.order_id,
                {"step": step, "how": change.resolved}, at=change.at,
                key=f"{change.order_id}:resolved:{change.at.isoformat()}",
            )  # fmt: skip

    @implements(steps.FETCH_ORDER)
    async def fetch_order(self, request: FetchOrderRequest) -> Order:
        fetch = getattr(self._channels.for_channel(request.channel), "get_order", None)
        if fetch is None:
            raise ProviderRejected(
                f"the {request.channel.value} channel sends full orders; there is nothing to fetch",
                provider=request.channel.value,
            )
        order: Order = await fetch(request.external_id)
        return order

    @implements(steps.NOTIFY_SHIPPED)
    async def notify_shipped(self, notice: ShippedNotice) -> None:
        await self._channels.for_channel(notice.channel).notify_shipped(notice)

    @implements(steps.NOTIFY_CANCELLED)
    async def notify_cancelled(self, notice: CancelledNotice) -> None:
        await self._channels.for_channel(notice.channel).notify_cancelled(notice)
