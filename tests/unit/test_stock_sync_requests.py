"""A worker asks a SKU's stock-sync workflow at most once per window: the asks in
between would be read by the push the first one set off (its coalescing pause is
longer than the window)."""

from __future__ import annotations

import pytest

from activities.stock import CoalescedRequests
from workflows.steps import STOCK_SYNC_COALESCE

pytestmark = pytest.mark.unit


async def test_asks_within_the_window_are_skipped_per_sku_and_resume_after_it() -> None:
    asked: list[str] = []
    now = [100.0]

    async def request(sku: str) -> None:
        asked.append(sku)

    requests = CoalescedRequests(request, window_s=1.5, clock=lambda: now[0])
    for sku in ("A", "A", "B", "A"):
        await requests(sku)
    now[0] += 1.6
    await requests("A")

    assert asked == ["A", "B", "A"]
    assert requests.skipped == 2


def test_the_window_is_shorter_than_the_sync_workflows_pause() -> None:
    default = CoalescedRequests(lambda _: None)  # type: ignore[arg-type, return-value]
    assert default._window_s < STOCK_SYNC_COALESCE.total_seconds()
