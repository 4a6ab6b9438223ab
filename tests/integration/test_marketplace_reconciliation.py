"""The marketplace reconciliation against the sandbox's release report over real HTTP, on
SQLite and PostgreSQL: every seeded divergence lands in its class, a rerun changes
nothing, a run killed halfway and resumed gives the same result."""

from __future__ import annotations

import asyncio
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from temporalio.testing import ActivityEnvironment

from db.models import ReconciliationLine
from db.reconciliation import LINE_COLUMNS
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


async def test_lines_stored_compact_read_back_with_their_receivables_figures(
    world: FinanceWorld,
) -> None:
    """A matched line is stored without the expected figures that equal its own, and
    without an `order:<key>` order id; read back, every line that has a receivable shows
    that receivable's order and figures, and a line without one shows none."""
    await reconcile(world)
    async with world.sessions() as s:
        compact = await s.scalar(
            select(func.count()).select_from(ReconciliationLine).where(
                ReconciliationLine.cls == "matched",
                ReconciliationLine.expected_gross.is_(None),
                ReconciliationLine.order_id.is_(None),
            )
        )  # fmt: skip
    assert compact, "no matched line was stored compact"
    lines = await world.results.lines("marketplace", world.day)
    for line in lines:
        if line.cls in {"unexpected_payout"}:
            assert (line.order_id, line.expected_gross, line.expected_net) == (None, None, None)
            continue
        assert line.order_id is not None, line
        receivable = await world.receivables.get(line.order_id)
        assert receivable is not None, line
        assert receivable.key == line.key
        assert line.expected_gross == receivable.gross, line
        assert line.expected_fees == (
            receivable.commission + receivable.fixed_fee + receivable.freight
        ), line
        assert line.expected_net == receivable.net - receivable.refunded, line


async def test_two_attempts_storing_one_chunk_at_once_leave_it_once(
    world: FinanceWorld, tmp_path: Path
) -> None:
    """No unique key guards the lines (a B-tree halves the bulk load): a retry storing a
    chunk while the first attempt still stores it must not double it."""
    await reconcile(world)
    before = await world.results.fingerprint("marketplace", world.day)
    chunk = tmp_path / "chunk.csv"
    header = ",".join(LINE_COLUMNS)
    rows = [
        f"marketplace,{world.day.isoformat()},{n},matched,store:K{n},order:x{n},payment,"
        f"r{n},10.00,10.00,0.00,10.00,0.00,10.00"
        for n in range(1, 6)
    ]
    chunk.write_text("\n".join([header, *rows]) + "\n", encoding="utf-8")
    await asyncio.gather(
        *(world.results.store_chunk("marketplace", world.day, chunk, 1, 5) for _ in range(3))
    )
    after = await world.results.fingerprint("marketplace", world.day)
    assert [line[0] for line in after] == [line[0] for line in before]  # one line per seq
    assert [line[2] for line in after[:5]] == [f"store:K{n}" for n in range(1, 6)]
    assert after[5:] == before[5:]


async def test_a_rerun_with_fewer_lines_drops_the_rest(world: FinanceWorld, tmp_path: Path) -> None:
    first = await reconcile(world)
    chunk = tmp_path / "chunk.csv"
    chunk.write_text(
        ",".join(LINE_COLUMNS) + "\n"
        f"marketplace,{world.day.isoformat()},1,matched,store:K1,,payment,r1,"
        "10.00,10.00,0.00,,,\n",
        encoding="utf-8",
    )
    await world.results.begin("marketplace", world.day, "rerun")
    await world.results.store_chunk("marketplace", world.day, chunk, 1, 1)
    await world.results.finish("marketplace", world.day, 1, {"matched": 1}, 0)
    assert first.lines > 1
    assert len(await world.results.fingerprint("marketplace", world.day)) == 1
    run = await world.results.run("marketplace", world.day)
    assert run is not None
    assert (run.status, run.lines) == ("done", 1)


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
