"""Workflow code changes must not break running orders: every recorded history replays
against today's workflows (orders, stock sync, reconciliation) without a non-determinism error."""

from __future__ import annotations

from pathlib import Path

import pytest
from temporalio.client import WorkflowHistory
from temporalio.worker import Replayer

from config.temporal import data_converter
from workflows.order import OrderWorkflow
from workflows.reconciliation import ReconciliationWorkflow
from workflows.stock_sync import StockSyncWorkflow

pytestmark = pytest.mark.workflow

HISTORIES = sorted((Path(__file__).parent / "histories").glob("*.json"))
HISTORY_TEXT = {p: p.read_text() for p in HISTORIES}


def test_recorded_histories_are_present() -> None:
    assert len(HISTORIES) >= 10, "re-record with RETAGUARDA_RECORD_HISTORIES=1 pytest -m workflow"


@pytest.mark.parametrize("path", HISTORIES, ids=[p.stem for p in HISTORIES])
async def test_recorded_history_replays_deterministically(path: Path) -> None:
    history = WorkflowHistory.from_json(path.stem, HISTORY_TEXT[path])
    replayer = Replayer(
        workflows=[OrderWorkflow, StockSyncWorkflow, ReconciliationWorkflow],
        data_converter=data_converter(),
    )
    result = await replayer.replay_workflow(history, raise_on_replay_failure=False)
    assert result.replay_failure is None, f"{path.name}: {result.replay_failure}"
