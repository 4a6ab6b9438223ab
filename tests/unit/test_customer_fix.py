"""Correcting a stuck order's address or CPF: which failures it fixes, what a typed
address and CPF must be, and the form ops see."""

from __future__ import annotations

from datetime import timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from api.console import Flash, OrderPage, render
from api.console.fixes import correction_form
from api.console.runbook import FixPanel, advice
from api.console.views import say
from db.api_keys import ApiRole
from domain.attention import StepFailure
from domain.customer_fix import (
    CorrectionKind,
    CustomerCorrection,
    InvalidCorrection,
    apply_correction,
    correction_for,
    typed_address,
    typed_cpf,
)
from domain.orders import OrderStatus
from tests.unit.test_console_order_page import held_order, state
from tests.unit.test_console_render import NOW, chrome, view

pytestmark = pytest.mark.unit

RIO = {
    "postal_code": "20040-002", "street": "Avenida Rio Branco", "number": "1",
    "complement": "", "district": "Centro", "city": "rio de janeiro", "state": "rj",
}  # fmt: skip


@pytest.mark.parametrize(
    ("step", "error", "message", "kind"),
    [
        ("emit_invoice", "sefaz_237", "", CorrectionKind.CPF),
        ("emit_invoice", "sefaz_274", "", CorrectionKind.ADDRESS),
        ("emit_invoice", "sefaz_275", "", CorrectionKind.ADDRESS),
        ("emit_invoice", "sefaz_272", "", None),  # the issuer's own address
        ("emit_invoice", "sefaz_539", "", None),
        ("book_shipment", "no_freight_service", "no carrier", CorrectionKind.ADDRESS),
        ("book_shipment", "http_422", "CEP de destino inválido", CorrectionKind.ADDRESS),
        ("book_shipment", "http_422", "documento do destinatário inválido", CorrectionKind.CPF),
        ("book_shipment", "ProviderUnavailable", "timeout", None),
        ("reserve_stock", "OutOfStock", "MUG-1: 1 requested, 0 available", None),
    ],
)
def test_only_failures_on_the_customers_data_offer_a_correction(
    step: str, error: str, message: str, kind: CorrectionKind | None
) -> None:
    assert correction_for(step, error, message) is kind


def test_a_typed_address_is_normalised_and_gets_its_citys_ibge_code() -> None:
    address = typed_address(RIO)
    assert address.postal_code == "20040002"
    assert address.state == "RJ"
    assert address.city_code == "3304557"


def test_a_typed_address_says_what_is_wrong_field_by_field() -> None:
    bad = {**RIO, "postal_code": "2004-002", "street": " ", "city": "Springfield"}
    with pytest.raises(InvalidCorrection) as refused:
        typed_address(bad)
    problems = refused.value.problems
    assert problems["postal_code"] == "a CEP has 8 digits, e.g. 13010-000"
    assert problems["street"] == "type the street"
    assert "not found in state RJ" in problems["city"]
    with pytest.raises(InvalidCorrection) as refused:
        typed_address({**RIO, "state": "XX"})
    assert "not a Brazilian state" in refused.value.problems["state"]


@given(st.text(alphabet="0123456789", min_size=11, max_size=11))
def test_a_typed_cpf_is_taken_only_with_right_check_digits(digits: str) -> None:
    from validate_docbr import CPF

    valid = CPF().validate(digits) and len(set(digits)) > 1
    if valid:
        assert typed_cpf(f"{digits[:3]}.{digits[3:6]}.{digits[6:9]}-{digits[9:]}") == digits
    else:
        with pytest.raises(InvalidCorrection):
            typed_cpf(digits)


def test_a_correction_changes_only_what_it_corrects() -> None:
    order = held_order()
    fixed = apply_correction(order, CustomerCorrection(cpf="11144477735"))
    assert fixed.customer.cpf == "11144477735"
    assert fixed.customer.address == order.customer.address
    assert fixed.items == order.items
    with pytest.raises(ValueError, match="the address, the CPF or both"):
        CustomerCorrection()


def stuck_on(error: str) -> tuple[StepFailure, OrderPage]:
    failure = StepFailure(step="emit_invoice", error_type=error, message="275", attempts=1,
                          at=NOW - timedelta(minutes=3))  # fmt: skip
    live = state().model_copy(update={"failure": failure, "status": OrderStatus.PAID})
    form = correction_form(failure.step, failure.error_type, failure.message, live)
    fix = FixPanel(advice(failure.step, failure.error_type), (), "n1", form)
    order = view(stuck_step="emit_invoice")
    return failure, OrderPage(chrome(ApiRole.OPS), order, live, fix=fix)


def test_the_stuck_order_shows_the_address_form_prefilled_in_pt_br() -> None:
    _, page = stuck_on("sefaz_275")
    html = render(page)
    assert 'id="correct-customer"' in html
    assert "Corrigir o endereço e tentar de novo" in html
    assert 'name="postal_code" value="13010-000"' in html
    assert 'name="city" value="Campinas"' in html
    assert '<option value="SP" selected>' in html
    assert "275: cidade de outra UF" in html  # the runbook's advice, from the catalogue


def test_the_runbook_advice_and_a_flash_read_in_the_chosen_language() -> None:
    failure, page = stuck_on("sefaz_275")
    flash = say("error", "Refused: %(why)s", why="no such order")
    english = OrderPage(chrome(ApiRole.OPS, flash, lang="en"), page.order, page.live, fix=page.fix)
    portuguese = OrderPage(chrome(ApiRole.OPS, flash), page.order, page.live, fix=page.fix)
    assert "275: a city of another state" in render(english)
    assert "Refused: no such order" in render(english)
    assert "Recusado: no such order" in render(portuguese)  # the provider's words as said
    accepted = say("ok", "%(result)s (%(who)s).", result="retry accepted", who="maria")
    done = OrderPage(chrome(ApiRole.OPS, accepted), page.order, page.live, fix=page.fix)
    assert "nova tentativa aceita (maria)." in render(done)  # the workflow's answer too


def test_the_cpf_form_and_a_refused_correction_keeps_what_was_typed() -> None:
    _, page = stuck_on("sefaz_237")
    assert 'name="cpf" value="123.456.789-09"' in render(page)
    flash = Flash("error", "Not corrected: CPF: bad", '{"cpf": "111.444.777-00"}', "customer")
    kept = OrderPage(chrome(flash=flash), page.order, page.live, fix=page.fix)
    assert 'name="cpf" value="111.444.777-00"' in render(kept)


def test_no_correction_form_for_other_failures_or_roles_that_cannot_decide() -> None:
    _, page = stuck_on("sefaz_539")
    assert 'id="correct-customer"' not in render(page)
    _, page = stuck_on("sefaz_275")
    viewer = OrderPage(chrome(ApiRole.VIEWER), page.order, page.live, fix=page.fix)
    assert 'id="correct-customer"' not in render(viewer)
