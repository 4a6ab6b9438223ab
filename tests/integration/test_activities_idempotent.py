"""Activities run again after a crash or a lost completion: their bookkeeping must not
double. Called directly (they are plain async methods) on a real SQLite database."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from activities.orders import OrderActivities
from db.audit import AuditLog
from db.orders import OrderReadModel
from db.session import create_engine, create_sessionmaker
from db.shipments import ShipmentRepository
from domain.attention import OpsAction, OpsDecision, StepFailure
from domain.steps import AttentionChange, RecordOrder
from integrations.channels import ChannelClients
from tests.workflows.world import make_order

pytestmark = pytest.mark.integration


async def test_repeated_attention_and_decision_records_leave_one_audit_row_each(
    sqlite_url: str,
) -> None:
    engine = create_engine(sqlite_url)
    sessions = create_sessionmaker(engine)
    try:
        audit = AuditLog(sessions)
        acts = OrderActivities(
            OrderReadModel(sessions), audit, ShipmentRepository(sessions), ChannelClients({})
        )
        order_id = "order:store:1001"
        at = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)
        await acts.record_order(RecordOrder(order_id=order_id, order=make_order(), at=at))
        failure = StepFailure(step="emit_invoice", error_type="sefaz_225", message="x", at=at)
        stuck = AttentionChange(order_id=order_id, at=at, failure=failure)
        decided = AttentionChange(
            order_id=order_id, at=at.replace(minute=5), failure=failure,
            decision=OpsDecision(action=OpsAction.RETRY, actor="joana"),
        )  # fmt: skip
        for change in (stuck, stuck, decided, decided):
            await acts.record_attention(change)

        actions = [e.action for e in await audit.list(order_id=order_id)]
        assert sorted(actions) == ["needs_attention", "ops:retry"]
        view = await OrderReadModel(sessions).get(order_id)
        assert view is not None
        assert view.needs_attention is False
    finally:
        await engine.dispose()
