"""The marketplace reconciliation against the sandbox's release report over real HTTP, on
SQLite and PostgreSQL: every seeded divergence lands in its class, a rerun changes
nothing, a run killed halfway and resumed gives the same result."""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from temporalio.testing import ActivityEnvironment

from domain.reconciliation import AccrueRequest, LineClass, ReconcileRequest, ReconKind
from tests.integration.finance_world import FinanceWorld, sell_a_day
from tests.support.sandbox import sandbox_world

pytestmark = pytest.mark.integration

# Which lines carry each seeded kind: (description of the line, class it must get).
SEEDED_LINES = {
    "fee_divergence": ("payment", LineClass.FEE_DIVERGENCE),
    "amount_divergence": ("payment", LineClass.AMOUNT_DIVERGENCE),
    "missing_payout": ("payment", LineClass.MISSING_PAYOUT),
    "unexpected_payout": ("payment", LineClass.UNEXPECTED_PAYOUT),
    "chargeback": ("chargeback", LineClass.CHARGEBACK),
    "anticipated": ("fee_release_in_advance", LineClass.ANTICIPATED),
}


class Killed(Exception):
    """Stands for the worker dying: raised from a heartbeat, the attempt stops there."""


async def reconcile(world: FinanceWorld, env: ActivityEnvironment | None = None) -> Any:
    env = env or ActivityEnvironment()
    await env.run(world.activities.accrue_receivables, AccrueRequest(day=world.day))
    request = ReconcileRequest(kind=ReconKind.MARKETPLACE, day=world.day)
    return await env.run(world.activities.reconcile_marketplace, request)


@pytest.fixture
async def world(sessionmaker: async_sessionmaker[AsyncSession], tmp_path: Path) -> Any:
    async with sandbox_world(seed=11) as sandbox:
        yield await sell_a_day(sandbox, sessionmaker, tmp_path / "finance")


async def test_every_seeded_divergence_is_classified_in_its_class(world: FinanceWorld) -> None:
    result = await reconcile(world)
    lines = await world.results.lines("marketplace", world.day)
    seeded = await world.seeded()
    assert {s["kind"] for s in seeded} == set(SEEDED_LINES)
    odd = set()
    for case in seeded:
        description, expected = SEEDED_LINES[case["kind"]]
        got = [ln.cls for ln in lines if ln.key == case["key"] and ln.description == description]
        assert got == [expected.value], (case, got)
        odd.add(case["key"])
    # The chargeback's and the advance's own payment lines: the sale itself was fine.
    for line in lines:
        if line.key in odd:
            continue
        assert line.cls == LineClass.MATCHED.value, line
    assert result.lines == len(lines)
    assert result.classified == dict(Counter(ln.cls for ln in lines)) | {
        c.value: 0 for c in LineClass if c.value not in {ln.cls for ln in lines}
    }
    # The refunded store order and the cancelled marketplace order: payment and refund.
    refunds = [ln for ln in lines if ln.description == "refund"]
    assert len(refunds) == 2
    assert {ln.cls for ln in refunds} == {LineClass.MATCHED.value}
    assert result.alerts == sum(
        result.classified[c.value]
        for c in (
            LineClass.FEE_DIVERGENCE, LineClass.AMOUNT_DIVERGENCE, LineClass.MISSING_PAYOUT,
            LineClass.UNEXPECTED_PAYOUT, LineClass.CHARGEBACK,
        )
    )  # fmt: skip


async def test_reconciling_a_night_twice_changes_nothing(world: FinanceWorld) -> None:
    first = await reconcile(world)
    stored = await world.results.fingerprint("marketplace", world.day)
    second = await reconcile(world)
    assert second == first
    assert await world.results.fingerprint("marketplace", world.day) == stored
    run = await world.results.run("marketplace", world.day)
    assert run is not None
    assert (run.status, run.lines) == ("done", first.lines)


async def test_a_run_killed_halfway_and_resumed_gives_the_same_result(
    world: FinanceWorld, tmp_path: Path
) -> None:
    clean = await reconcile(world)
    expected = await world.results.fingerprint("marketplace", world.day)

    # Kill the next run after its second chunk is stored (chunks of 5 lines).
    beats: list[Any] = []

    def heartbeat(*details: Any) -> None:
        beats.append(details[0])
        if details[0]["stage"] == "matched" and len(details[0]["stored"]) == 2:
            raise Killed

    env = ActivityEnvironment()
    env.on_heartbeat = heartbeat
    await world.results.begin("marketplace", world.day, "earlier")  # half-done state
    with pytest.raises(Killed):
        await reconcile(world, env)
    half = await world.results.run("marketplace", world.day)
    assert half is not None
    assert half.status == "running"

    # The retry starts with the last heartbeat and goes on from the third chunk.
    resumed = ActivityEnvironment()
    resumed.info = resumed.info.__class__(
        **{**resumed.info.__dict__, "heartbeat_details": [beats[-1]], "attempt": 2}
    )
    stored: list[list[int]] = []
    resumed.on_heartbeat = lambda *d: stored.append(d[0]["stored"])
    result = await reconcile(world, resumed)
    assert result == clean
    assert len(stored[0]) == 3, "the retry stored again what was already stored"
    assert set(beats[-1]["stored"]) < set(stored[0])
    assert await world.results.fingerprint("marketplace", world.day) == expected
    done = await world.results.run("marketplace", world.day)
    assert done is not None
    assert done.status == "done"


async def test_a_chargeback_takes_its_amount_off_the_receivable_once(world: FinanceWorld) -> None:
    await reconcile(world)
    lines = await world.results.lines("marketplace", world.day)
    (charged,) = [ln for ln in lines if ln.description == "chargeback"]
    assert charged.order_id is not None
    receivable = await world.receivables.get(charged.order_id)
    assert receivable is not None
    assert charged.amount is not None
    assert receivable.charged_back == -charged.amount  # the debit, as a positive amount
    await reconcile(world)  # the night again: replaced, not added
    again = await world.receivables.get(charged.order_id)
    assert again is not None
    assert again.charged_back == receivable.charged_back
    others = await world.receivables.between(limit=10_000)
    assert sum(r.charged_back for r in others) == receivable.charged_back
