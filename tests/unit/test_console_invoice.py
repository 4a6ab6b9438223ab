"""The NF-e panel of the console's order page: what became of the NF-e, its return NF-e,
its number's voiding, its correction letters, and the CC-e form only ops see."""

from __future__ import annotations

from datetime import timedelta

import pytest

from api.console import Flash, OrderPage, render
from api.console.invoice import InvoicePanel
from db.api_keys import ApiRole
from db.fiscal_lifecycle import CorrectionView, NumberHeld
from db.invoices import InvoiceView
from domain.fiscal import InvoiceStatus
from domain.fiscal_lifecycle import CorrectionStatus, ReturnInvoice
from tests.unit.test_console_render import NOW, ORDER_ID, chrome, live, view

pytestmark = pytest.mark.unit

KEY = "35241111222333000181550010000000421000000428"
RETURN_KEY = "35241211222333000181550010000000431000000431"
FORM = f'action="/console/orders/{ORDER_ID}/corrections"'


def invoice(
    status: InvoiceStatus = InvoiceStatus.AUTHORISED, *, age: timedelta = timedelta(hours=2)
) -> InvoiceView:
    return InvoiceView(
        order_id=ORDER_ID,
        number=42,
        series=1,
        access_key=KEY,
        protocol="135240000000042",
        status=status,
        authorised_at=NOW - age,
        cancelled_at=NOW - timedelta(minutes=5) if status is InvoiceStatus.CANCELLED else None,
    )


def letter(sequence: int, status: CorrectionStatus, **extra: object) -> CorrectionView:
    values: dict[str, object] = {
        "access_key": KEY,
        "sequence": sequence,
        "order_id": ORDER_ID,
        "text": "Endereco de entrega: apartamento 42, bloco <B>",
        "status": status,
        "protocol": "135240000000777" if status is CorrectionStatus.REGISTERED else None,
        "message": "",
        "requested_by": "maria",
        "requested_at": NOW - timedelta(minutes=30),
        "registered_at": NOW - timedelta(minutes=29)
        if status is CorrectionStatus.REGISTERED
        else None,
    }
    values.update(extra)
    return CorrectionView(**values)  # type: ignore[arg-type]


def page(panel: InvoicePanel, role: ApiRole = ApiRole.OPS, flash: Flash | None = None) -> str:
    return render(OrderPage(chrome(role, flash, lang="en"), view(), live(), fiscal=panel))


def test_the_panel_shows_the_authorised_nfe_and_its_correction_letters() -> None:
    letters = [
        letter(1, CorrectionStatus.REGISTERED),
        letter(2, CorrectionStatus.REJECTED, message="Rejeicao: 501 prazo"),
    ]
    html = page(InvoicePanel(invoice(), corrections=letters))

    assert '<span class="badge ok" id="invoice-status">authorised</span>' in html
    assert KEY in html
    assert "nº 42 series 1" in html
    assert "135240000000042" in html
    row = html[html.index('id="correction-1"') : html.index('id="correction-2"')]
    assert "apartamento 42, bloco &lt;B&gt;" in row  # escaped
    assert "registered" in row
    assert "135240000000777" in row
    assert "maria" in row
    assert "2024-11-29 11:31:00 -03" in row
    rejected = html[html.index('id="correction-2"') :]
    assert "rejected" in rejected
    assert "Rejeicao: 501 prazo" in rejected
    assert FORM in html
    assert "Accepted until 2024-12-29 10:00:00 -03" in html  # 720 h after the authorisation


@pytest.mark.parametrize("role", [ApiRole.WAREHOUSE, ApiRole.FINANCE, ApiRole.VIEWER])
def test_only_ops_see_the_correction_form(role: ApiRole) -> None:
    html = page(InvoicePanel(invoice(), corrections=[letter(1, CorrectionStatus.REGISTERED)]), role)

    assert FORM not in html
    assert 'name="text"' not in html
    assert f"Your role ({role.value}) can see the correction letters but not send one" in html
    assert "135240000000777" in html  # but they do see the letters


def test_the_correction_form_carries_the_csrf_token() -> None:
    html = page(InvoicePanel(invoice()), ApiRole.ADMIN)
    form = html[html.index(FORM) : html.index("Send CC-e")]
    assert f'name="csrf" value="{chrome().csrf}"' in form
    assert "none sent" in html


@pytest.mark.parametrize(
    ("status", "words", "why"),
    [
        (InvoiceStatus.CANCELLED, "cancelled", "The NF-e was cancelled: a correction letter"),
        (InvoiceStatus.NEEDS_RETURN_INVOICE, "needs return", "waits for its return NF-e: a"),
        (InvoiceStatus.RETURNED, "returned", "undone by a return NF-e: a correction letter"),
    ],
)
def test_an_nfe_no_longer_authorised_says_so_and_offers_no_form(
    status: InvoiceStatus, words: str, why: str
) -> None:
    html = page(InvoicePanel(invoice(status)))

    assert f'id="invoice-status">{words}</span>' in html
    assert why in html
    assert FORM not in html


def test_past_720_hours_the_panel_says_to_issue_another_nfe() -> None:
    html = page(InvoicePanel(invoice(age=timedelta(hours=720, seconds=1))))
    assert "more than 720 h ago" in html
    assert "complementary or return NF-e" in html
    assert FORM not in html
    assert FORM in page(InvoicePanel(invoice(age=timedelta(hours=720))))  # inclusive


def test_twenty_registered_letters_close_the_form() -> None:
    letters = [letter(n, CorrectionStatus.REGISTERED) for n in range(1, 21)]
    html = page(InvoicePanel(invoice(), corrections=letters))
    assert "20 correction letters already" in html
    assert FORM not in html


def test_a_returned_nfe_shows_its_return_nfe_and_what_it_refers_to() -> None:
    returned = ReturnInvoice(
        order_id=ORDER_ID,
        refers_to=KEY,
        access_key=RETURN_KEY,
        number=43,
        series=1,
        protocol="135240000000043",
        authorised_at=NOW - timedelta(minutes=1),
    )
    html = page(InvoicePanel(invoice(InvoiceStatus.RETURNED), returned=returned))

    section = html[html.index('id="return-invoice"') :]
    assert RETURN_KEY in section
    assert "nº 43 series 1" in section
    assert f'Refers to</dt><dd class="mono">{KEY}' in section
    assert "undone by the return NF-e below" in html


def test_a_number_never_used_shows_its_voiding_at_sefaz() -> None:
    voided = NumberHeld(
        order_id=ORDER_ID,
        series=1,
        number=44,
        in_use=False,
        voided_at=NOW - timedelta(minutes=3),
        sefaz_voided_at=NOW - timedelta(minutes=2),
        voiding_protocol="135240000000099",
    )
    pending = NumberHeld(ORDER_ID, 2, 7, False, NOW, None, None)
    html = page(InvoicePanel(None, numbers=[voided, pending]))

    assert "No NF-e authorised for this order (its number was reserved)" in html
    assert "nº 44 series 1:" in html
    assert "voided at SEFAZ (inutilização) on 2024-11-29 11:58:00 -03" in html
    assert "135240000000099" in html
    assert "nº 7 series 2:" in html
    assert "not yet voided at SEFAZ" in html
    assert "Correction letters" not in html  # nothing to correct


def test_a_refused_correction_keeps_its_text_in_its_own_form_only() -> None:
    flash = Flash("error", "CC-e not sent: it may not change values.", "Valor 35,00", "correction")
    html = page(InvoicePanel(invoice()), flash=flash)

    assert "CC-e not sent: it may not change values." in html
    form = html[html.index(FORM) :]
    assert "Valor 35,00</textarea>" in form
