"""The console's rendering is a pure function from view data to HTML."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from api.console import (
    Chrome,
    DashboardPage,
    ErrorPage,
    Flash,
    LoginPage,
    OrderPage,
    OrdersPage,
    WarehousePage,
    csrf_token,
    render,
    skip_hint,
)
from db.api_keys import ApiPrincipal, ApiRole
from db.audit import AuditEntry
from db.orders import OrderView
from db.warehouse import WarehouseTaskView
from domain.attention import StepFailure
from domain.orders import Channel, OrderStatus
from domain.steps import OrderState
from domain.warehouse import WarehouseRecord, WarehouseStep
from integrations.documents.store import StoredDocument, danfe_pdf, event_xml, nfe_xml

pytestmark = pytest.mark.unit

NOW = datetime(2024, 11, 29, 15, 0, tzinfo=UTC)
ORDER_ID = "order:store:7001"


def chrome(role: ApiRole = ApiRole.OPS, flash: Flash | None = None, lang: str = "pt-BR") -> Chrome:
    return Chrome(ApiPrincipal("maria", role), csrf_token("rtg_secret"), NOW, flash, lang)


def view(*, stuck_step: str | None = None, message: str = "") -> OrderView:
    failure = None
    if stuck_step:
        failure = StepFailure(
            step=stuck_step,
            error_type="OutOfStock",
            message=message,
            attempts=1,
            at=NOW - timedelta(minutes=12),
        )
    return OrderView(
        order_id=ORDER_ID,
        channel=Channel.STORE,
        external_id="7001",
        status=OrderStatus.RECEIVED,
        customer_name="Maria <b>Souza</b>",
        total=Decimal("1234.50"),
        items=[{"sku": "MUG-1", "quantity": 1, "unit_price": "39.90"}],
        needs_attention=failure is not None,
        stuck_step=stuck_step,
        failure=failure,
        invoice_key=None,
        tracking_code=None,
        carrier=None,
        phase_times={"received": NOW - timedelta(minutes=13), "reserved": NOW},
        created_at=NOW - timedelta(minutes=13),
        updated_at=NOW,
    )


def live(
    *,
    notes: tuple[str, ...] = (),
    failure: StepFailure | None = None,
    can_skip: bool = False,
    skip_result: str | None = None,
) -> OrderState:
    return OrderState(
        order_id=ORDER_ID,
        channel=Channel.STORE,
        external_id="7001",
        status=OrderStatus.RECEIVED,
        notes=notes,
        failure=failure,
        can_skip=can_skip,
        skip_result=skip_result,
    )


def test_an_order_note_with_a_script_tag_is_escaped() -> None:
    page = OrderPage(chrome(), view(), live(notes=("<script>alert('x')</script>",)))
    html = render(page)
    assert "<script>" not in html
    assert "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;" in html
    assert "Maria &lt;b&gt;Souza&lt;/b&gt;" in html


def test_the_order_page_links_its_documents_for_every_role() -> None:
    key = "35261111222333000181550010000000011724612128"
    documents = [
        StoredDocument(nfe_xml(key), 9_000),
        StoredDocument(danfe_pdf(key), 40_960),
        StoredDocument(event_xml(key, "110111", 1), 4_000),
    ]
    for role in ApiRole:
        html = render(OrderPage(chrome(role, lang="en"), view(), live(), documents=documents))
        assert f'<a href="/console/documents/nfe/{key}-danfe.pdf">DANFE (PDF)</a>' in html
        assert f'<a href="/console/documents/nfe/{key}-procNFe.xml">NF-e XML' in html
        assert (
            f'<a href="/console/documents/events/{key}-110111-1-procEventoNFe.xml">'
            "cancellation XML (110111, nº 1)</a>"
        ) in html
        assert "40.0 KiB" in html
    assert "None yet: the NF-e XML" in render(OrderPage(chrome(lang="en"), view(), live()))


def test_the_stuck_table_shows_the_step_the_error_and_how_long_ago() -> None:
    stuck = view(stuck_step="reserve_stock", message="MUG-1: 1 requested, 0 available")
    html = render(DashboardPage(chrome(), {"received": 1}, {"pending": 0}, [stuck]))
    assert f'href="/console/orders/{ORDER_ID}"' in html
    assert "reserve_stock" in html
    assert "<b>Estoque insuficiente</b>" in html  # the error type by name, its code beside
    assert '<span class="mono muted">OutOfStock</span>' in html
    assert "Mensagem registrada:</span> MUG-1: 1 requested, 0 available" in html  # as recorded
    assert "há 12 min" in html  # pt-BR first
    assert "Reservando estoque" in html  # the step's human name beside its code
    assert 'lang="pt-BR"' in html
    english = render(DashboardPage(chrome(lang="en"), {"received": 1}, {"pending": 0}, [stuck]))
    assert "12 min ago" in english
    assert "Reserving stock" in english
    assert "<b>Not enough stock</b>" in english


def test_the_skip_form_for_emit_invoice_has_a_typed_field_for_each_invoice_field() -> None:
    failure = StepFailure(
        step="emit_invoice", error_type="SefazRejected", message="539 duplicidade", at=NOW
    )
    stuck = live(failure=failure, can_skip=True, skip_result="Invoice")
    page = OrderPage(chrome(lang="en"), view(), stuck)
    html = render(page)
    for name in ("order_id", "access_key", "number", "series", "protocol", "authorised_at"):
        assert f'name="field:{name}"' in html
    assert f'name="field:order_id" value="{ORDER_ID}"' in html
    assert "Give the result of emit_invoice obtained by hand (a Invoice)" in html
    assert "(optional)" in html
    assert r"string matching ^\d{44}$" in html
    assert "Or paste the result as JSON" in html
    hint = skip_hint("Invoice", ORDER_ID)
    assert hint is not None
    assert f'"order_id": "{ORDER_ID}"' in hint.example


def test_a_skippable_step_without_a_result_model_says_skip_takes_no_data() -> None:
    failure = StepFailure(step="notify_shipped", error_type="http_400", message="m", at=NOW)
    html = render(OrderPage(chrome(lang="en"), view(), live(failure=failure, can_skip=True)))
    assert "notify_shipped takes no data" in html
    assert 'name="data"' not in html


def test_a_step_the_order_cannot_do_without_offers_no_skip() -> None:
    failure = StepFailure(step="reserve_stock", error_type="OutOfStock", message="m", at=NOW)
    html = render(OrderPage(chrome(lang="en"), view(), live(failure=failure)))
    assert "reserve_stock cannot be skipped" in html
    assert 'value="skip"' not in html


def test_decide_forms_carry_the_csrf_token_and_only_ops_see_them() -> None:
    failure = StepFailure(step="notify_shipped", error_type="http_400", message="m", at=NOW)
    ops = render(OrderPage(chrome(), view(), live(failure=failure, can_skip=True)))
    assert ops.count(f'name="csrf" value="{csrf_token("rtg_secret")}"') == 4  # 3 + sign out
    assert ops.count('action="/console/orders/order:store:7001/decide"') == 3
    warehouse = render(
        OrderPage(chrome(ApiRole.WAREHOUSE, lang="en"), view(), live(failure=failure))
    )
    assert "/decide" not in warehouse
    assert "can see this order but not decide" in warehouse


def test_a_refused_skip_keeps_the_typed_json_in_the_textarea() -> None:
    failure = StepFailure(step="emit_invoice", error_type="X", message="m", at=NOW)
    flash = Flash("error", "Refused: skip needs <data>", data='{"number": 1}')
    stuck = live(failure=failure, can_skip=True, skip_result="Invoice")
    html = render(OrderPage(chrome(flash=flash), view(), stuck))
    assert "Refused: skip needs &lt;data&gt;" in html
    assert "{&#34;number&#34;: 1}</textarea>" in html


def test_cancel_form_only_when_cancellable_and_not_stuck() -> None:
    assert 'id="cancel"' in render(OrderPage(chrome(), view(), live()))
    shipped = live().model_copy(update={"status": OrderStatus.SHIPPED})
    assert 'id="cancel"' not in render(OrderPage(chrome(), view(), shipped))


def test_temporal_unreachable_is_shown_and_the_read_model_still_renders() -> None:
    stuck = view(stuck_step="reserve_stock", message="no stock")
    page = OrderPage(chrome(lang="en"), stuck, None, "Temporal unreachable: connection refused")
    html = render(page)
    assert "Temporal unreachable: connection refused" in html
    assert "Stuck at Reserving stock" in html
    assert "reserve_stock" in html
    assert "R$ 1.234,50" in html


def test_warehouse_check_form_has_one_quantity_input_per_sku() -> None:
    record = WarehouseRecord(step=WarehouseStep.PICK, operator="joao", at=NOW)
    done = (record, record.model_copy(update={"step": WarehouseStep.PACK}))
    task = WarehouseTaskView(ORDER_ID, {"MUG-1": 1, "CUP-2": 3}, "packed", NOW, NOW, done)
    html = render(WarehousePage(chrome(ApiRole.WAREHOUSE), [task]))
    assert 'action="/console/warehouse/order:store:7001/check"' in html
    assert 'name="scanned:MUG-1"' in html
    assert 'name="scanned:CUP-2"' in html
    assert 'name="operator" value="maria"' in html


def test_other_pages_render() -> None:
    assert 'name="api_key"' in render(LoginPage(error="That API key is unknown"))
    orders = render(OrdersPage(chrome(), [view()], status="received", page=2, has_next=True))
    assert "/console/orders?status=received&amp;page=3" in orders
    assert "/console/orders?status=received&amp;page=1" in orders
    error = render(ErrorPage(None, 403, "Not allowed", "Your role <x> cannot"))
    assert "Your role &lt;x&gt; cannot" in error
    entry = AuditEntry(id=1, at=NOW, actor="a", action="ops:retry", order_id=ORDER_ID, details={})
    assert "ops:retry" in render(OrderPage(chrome(), view(), live(), audit=[entry]))


def test_a_refused_typed_skip_comes_back_in_words_and_fills_the_form_again() -> None:
    from pydantic import ValidationError

    from api.console.routes import in_words, validation_in_words
    from domain.fiscal import Invoice

    try:
        Invoice.model_validate({"order_id": ORDER_ID, "access_key": "123", "number": "x"})
    except ValidationError as exc:
        words = validation_in_words(exc)
        raw = str(exc)
    assert "access_key:" in words
    assert "errors.pydantic.dev" not in words
    assert "errors.pydantic.dev" not in in_words(raw)
    assert "[type=" not in in_words(raw)
    failure = StepFailure(step="emit_invoice", error_type="SefazRejected", message="m", at=NOW)
    kept = Flash("error", "Not skipped: ...", '{"access_key": "123", "number": "x"}')
    page = OrderPage(
        chrome(flash=kept), view(), live(failure=failure, can_skip=True, skip_result="Invoice")
    )
    html = render(page)
    assert 'name="field:access_key" value="123"' in html
