"""Ops correct the address or CPF that SEFAZ or the carrier refused, with the retry: the
retried step and every later one use the corrected data, and the original is kept in the
workflow's history (the update) and on the console's record."""

from __future__ import annotations

import pytest
from temporalio.client import WorkflowUpdateFailedError

from domain.attention import OpsAction, OpsDecision
from domain.customer_fix import CustomerCorrection, typed_address
from domain.orders import Address, Order, OrderStatus
from tests.workflows.conftest import Harness
from tests.workflows.test_order_workflow import run_warehouse, wait_status, wait_stuck
from tests.workflows.world import make_order, placed
from workflows import steps
from workflows.order import OrderWorkflow

pytestmark = pytest.mark.workflow

RIO = {
    "postal_code": "20040-002", "street": "Avenida Rio Branco", "number": "1",
    "district": "Centro", "city": "Rio de Janeiro", "state": "RJ",
}  # fmt: skip


def wrong_city_order() -> Order:
    """An order recorded before city codes were looked up: Rio's address with São Paulo's
    IBGE code, which SEFAZ refuses with 275."""
    order = make_order(paid=True)
    address = Address(**{**typed_address(RIO).model_dump(), "city_code": "3550308"})
    return order.model_copy(
        update={"customer": order.customer.model_copy(update={"address": address})}
    )


async def test_a_corrected_address_reaches_the_retried_nfe_and_the_booking(
    harness: Harness,
) -> None:
    world = harness.world
    world.fail[steps.EMIT_INVOICE.name] = 1
    world.fail_as[steps.EMIT_INVOICE.name] = (
        "sefaz_275",
        "SEFAZ authorisation rejected: 275 Rejeição: Código Município do Destinatário: "
        "difere da UF do Destinatário",
    )
    handle = await harness.start(placed(wrong_city_order()))
    await wait_stuck(handle, steps.EMIT_INVOICE.name)

    corrected = typed_address(RIO)
    assert corrected.city_code == "3304557"  # looked up from the name, never typed
    answer = await handle.execute_update(
        "decide",
        OpsDecision(
            action=OpsAction.RETRY, actor="ops:joana", reason="CEP and city checked",
            correction=CustomerCorrection(address=corrected),
        ),
    )  # fmt: skip
    assert answer == "retry accepted"
    await wait_status(handle, OrderStatus.PICKING)
    first, second = world.args[steps.EMIT_INVOICE.name]
    assert first.order.customer.address.city_code == "3550308"
    assert second.order.customer.address == corrected
    assert second.number == first.number  # the same NF-e number, sent again
    assert second.idempotency_key == first.idempotency_key

    await run_warehouse(handle)
    await wait_status(handle, OrderStatus.SHIPPED)
    [booking] = world.args[steps.BOOK_SHIPMENT.name]
    assert booking.recipient_address == corrected
    quotes = world.args[steps.QUOTE_FREIGHT.name]
    assert {q.to_postal_code for q in quotes} == {"20040002"}
    state = await handle.query(OrderWorkflow.state)
    assert state.order is not None
    assert state.order.customer.address == corrected
    assert "address corrected by ops:joana" in state.notes
    await handle.terminate()


async def test_a_corrected_cpf_reaches_the_retried_nfe(harness: Harness) -> None:
    world = harness.world
    world.fail[steps.EMIT_INVOICE.name] = 1
    world.fail_as[steps.EMIT_INVOICE.name] = (
        "sefaz_237", "SEFAZ authorisation rejected: 237 Rejeição: CPF do destinatário inválido",
    )  # fmt: skip
    handle = await harness.start(placed(make_order(paid=True)))
    await wait_stuck(handle, steps.EMIT_INVOICE.name)
    decision = OpsDecision(
        action=OpsAction.RETRY, actor="ops:joana",
        correction=CustomerCorrection(cpf="111.444.777-35"),
    )  # fmt: skip
    await handle.execute_update("decide", decision)
    await wait_status(handle, OrderStatus.PICKING)
    assert world.args[steps.EMIT_INVOICE.name][-1].order.customer.cpf == "11144477735"
    await handle.terminate()


async def test_a_correction_is_refused_when_the_customer_data_is_not_the_cause(
    harness: Harness,
) -> None:
    harness.world.fail[steps.EMIT_INVOICE.name] = 1  # a plain provider rejection
    handle = await harness.start(placed(make_order(paid=True)))
    await wait_stuck(handle, steps.EMIT_INVOICE.name)
    fix = CustomerCorrection(cpf="11144477735")
    for action in (OpsAction.RETRY, OpsAction.COMPENSATE):
        decision = OpsDecision(action=action, actor="ops", reason="x", correction=fix)
        with pytest.raises(WorkflowUpdateFailedError) as refused:
            await handle.execute_update("decide", decision)
        assert "InvalidCorrection" in repr(refused.value.cause)
    state = await handle.query(OrderWorkflow.state)
    assert state.failure is not None  # still waiting: nothing was taken
    assert state.order is not None
    assert state.order.customer.cpf == "52998224725"
    await handle.terminate()
