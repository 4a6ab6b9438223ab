"""The bank reconciliation against the sandbox bank's OFX over real HTTP, read with
ofxtools: the night's payout split over two transfers matches whole, the bank's fee and a
stray Pix stay unmatched lines, an anticipation the bank never credited stays expected;
a rerun changes nothing."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from temporalio.testing import ActivityEnvironment

from db.payables import PayableRepository
from domain.reconciliation import AccrueRequest, BankClass, ReconcileRequest, ReconKind
from integrations.bank.client import StatementInvalid, read_ofx
from tests.integration.finance_world import FinanceWorld, sell_a_day
from tests.support.sandbox import sandbox_world

pytestmark = pytest.mark.integration


@pytest.fixture
async def world(
    sessionmaker: async_sessionmaker[AsyncSession], tmp_path: Path
) -> AsyncIterator[FinanceWorld]:
    async with sandbox_world(seed=11) as sandbox:
        yield await sell_a_day(sandbox, sessionmaker, tmp_path / "finance")


async def night(world: FinanceWorld, kind: ReconKind) -> object:
    env = ActivityEnvironment()
    await env.run(world.activities.accrue_receivables, AccrueRequest(day=world.day))
    request = ReconcileRequest(kind=kind, day=world.day)
    method = {
        ReconKind.MARKETPLACE: world.activities.reconcile_marketplace,
        ReconKind.BANK: world.activities.reconcile_bank,
    }[kind]
    return await env.run(method, request)


async def test_the_statement_is_classified_as_the_bank_seeded_it(world: FinanceWorld) -> None:
    await night(world, ReconKind.MARKETPLACE)
    open_order = world.keys[0].replace("store:", "order:store:")
    advance = await world.receivables.anticipate(
        "ANT-0001", world.day, [open_order], Decimal("0.0299"), Decimal("1.50"), "finance"
    )
    result = await night(world, ReconKind.BANK)
    lines = await world.results.lines("bank", world.day)
    by_key = {ln.key: ln for ln in lines}
    response = await world.sandbox.http.get(
        f"{world.sandbox.url}/bank/admin/statements/{world.day.isoformat()}/seeded"
    )
    for case in response.json():
        for fitid in case["fitid"].split("+"):
            assert by_key[fitid].cls == case["kind"], (case, by_key[fitid])
    payout = [ln for ln in lines if ln.reference == world.day.isoformat()]
    assert len(payout) == 2  # one payout over two transfers
    assert sum(ln.amount or 0 for ln in payout) == payout[0].expected_net
    assert by_key["ANT-0001"].cls == BankClass.UNMATCHED_EXPECTED.value
    assert by_key["ANT-0001"].expected_net == advance.net
    assert result.classified == {  # type: ignore[attr-defined]
        "matched": 2, "unmatched_line": 2, "unmatched_expected": 1,
    }  # fmt: skip
    stored = await world.results.fingerprint("bank", world.day)
    again = await night(world, ReconKind.BANK)
    assert again == result
    assert await world.results.fingerprint("bank", world.day) == stored


def test_a_statement_that_is_not_ofx_is_refused_naming_the_file() -> None:
    with pytest.raises(StatementInvalid, match=r"2026-12-01\.ofx is not valid OFX"):
        read_ofx(b"<html>maintenance</html>", "2026-12-01.ofx")


async def test_supplier_bills_are_matched_against_the_banks_debits(world: FinanceWorld) -> None:
    await night(world, ReconKind.MARKETPLACE)
    payables = PayableRepository(world.sessions)
    await payables.add("NF-4411", "Ceramica Sul", world.day, Decimal("300.00"), "ana")
    await payables.add("NF-4412", "Torrefacao", world.day, Decimal("80.00"), "ana")
    await payables.add("NF-4413", "Torrefacao", world.day - timedelta(days=30), Decimal("9"), "a")
    debit = {"day": world.day.isoformat(), "amount": "300.00", "memo": "PAGTO BOLETO NF-4411"}
    await world.sandbox.admin("/bank/admin/debits", debit)
    undated = {"day": world.day.isoformat(), "amount": "45.10", "memo": "PAGTO BOLETO"}
    await world.sandbox.admin("/bank/admin/debits", undated)
    await payables.add("BOL-77", "Embalagens", world.day + timedelta(days=1), Decimal("45.10"), "a")

    result = await night(world, ReconKind.BANK)
    lines = await world.results.lines("bank", world.day)
    by_key = {ln.key: ln for ln in lines}

    paid = [ln for ln in lines if ln.reference == "NF-4411"]
    assert [(ln.cls, ln.amount) for ln in paid] == [("matched", Decimal("-300.00"))]
    by_amount = [ln for ln in lines if ln.reference == "BOL-77"]
    assert [ln.cls for ln in by_amount] == ["matched"]  # same amount, a day apart
    assert by_key["NF-4412"].cls == BankClass.UNMATCHED_EXPECTED.value
    assert "NF-4413" not in by_key  # due a month ago: not this night's
    assert result.classified["matched"] == 4  # type: ignore[attr-defined]
