"""What may follow an authorisation: the return CFOP, the CC-e's text rules and window,
the voiding justification."""

import functools
import tempfile
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from lxml import etree
from pydantic import ValidationError

from domain.fiscal import Issuer
from domain.fiscal_lifecycle import (
    CORRECTION_MAX,
    CORRECTION_MIN,
    CORRECTION_WINDOW,
    CorrectionRequest,
    correction_problems,
    return_cfop,
    void_reason,
    within_correction_window,
)
from domain.orders import Address
from integrations.fiscal.certificate import load_certificate, make_dev_certificate
from integrations.fiscal.events import correction_event
from integrations.fiscal.schema import correction_event_schema
from integrations.fiscal.signing import NfeSigner

pytestmark = pytest.mark.unit

KEY = "35261111222333000181550010000000011724612128"
NFE = "http://www.portalfiscal.inf.br/nfe"


@given(st.sampled_from("567"), st.integers(min_value=100, max_value=999))
def test_a_return_cfop_comes_back_from_where_the_sale_went(first, rest):
    cfop = return_cfop(f"{first}{rest}")

    assert cfop[0] == {"5": "1", "6": "2", "7": "3"}[first]
    assert cfop[1:] in {"201", "202"}


@pytest.mark.parametrize(
    ("sale", "expected"),
    [("5102", "1202"), ("6108", "2202"), ("6102", "2202"), ("5101", "1201"), ("6101", "2201")],
)
def test_goods_bought_for_resale_return_as_1202_or_2202(sale, expected):
    assert return_cfop(sale) == expected


@pytest.mark.parametrize("cfop", ["1102", "2202", "51", "abcd"])
def test_only_the_cfop_of_a_sale_has_a_return(cfop):
    with pytest.raises(ValueError, match="CFOP of a sale"):
        return_cfop(cfop)


@pytest.mark.parametrize(
    "text",
    [
        "Endereco de entrega: apartamento 42, bloco B",
        "Complemento do endereço do destinatário: casa dos fundos",
        "Transportadora correta: Rapidao Cometa, placa ABC1D23",
        "Código do produto CANECA-01 no item 1 é CANECA-02",
    ],
)
def test_a_correction_of_what_a_cce_may_fix_is_accepted(text):
    assert correction_problems(text) == []


@pytest.mark.parametrize(
    ("text", "why"),
    [
        ("Corrigir o valor unitário do item 1", "values"),
        ("Quantidade correta do item 2 é 3 unidades", "values"),
        ("Alíquota de ICMS do item 1 deveria ser 12%", "values"),
        ("O total correto é R$ 150,00 conforme pedido", "money"),
        ("Troca de destinatário para João da Silva", "recipient"),
        ("Razão social correta: Outra Empresa Ltda", "recipient"),
        ("Data de emissão correta: 01/12/2026", "date"),
        ("curto", "characters"),
    ],
)
def test_a_correction_that_changes_values_parties_or_dates_is_refused(text, why):
    problems = correction_problems(text)

    assert any(why in p for p in problems), problems


def test_a_correction_request_refuses_a_forbidden_text_with_the_reason():
    with pytest.raises(ValidationError, match="may not change values"):
        CorrectionRequest(
            order_id="o",
            access_key=KEY,
            sequence=1,
            text="Valor do frete correto é outro",
            requested_at=datetime.now(UTC),
        )


@given(st.text(min_size=0, max_size=1200))
def test_a_correction_text_outside_its_length_is_always_refused(text):
    clean = " ".join(text.split())
    problems = correction_problems(text)

    if not CORRECTION_MIN <= len(clean) <= CORRECTION_MAX:
        assert any("characters" in p for p in problems)


def test_the_correction_window_is_720_hours_inclusive():
    authorised = datetime(2026, 11, 1, 12, tzinfo=UTC)

    assert within_correction_window(authorised, authorised + CORRECTION_WINDOW)
    assert not within_correction_window(
        authorised, authorised + CORRECTION_WINDOW + timedelta(seconds=1)
    )


@given(st.text(max_size=400))
def test_a_voiding_justification_always_fits_sefaz_limits(reason):
    text = void_reason(reason)

    assert 15 <= len(text) <= 255
    assert text == text.strip()


@functools.cache
def _signer() -> NfeSigner:
    folder = Path(tempfile.mkdtemp())
    make_dev_certificate(folder / "dev.pfx", ISSUER.cnpj, "dev-only")
    return NfeSigner(load_certificate(folder / "dev.pfx", "dev-only"))


ISSUER = Issuer(
    cnpj="11222333000181",
    name="Retaguarda Comercio Eletronico Ltda",
    ie="123456789110",
    address=Address(
        street="Avenida Paulista", number="1000", district="Bela Vista", city="São Paulo",
        city_code="3550308", state="SP", postal_code="01310100",
    ),
)  # fmt: skip


@settings(max_examples=60, deadline=None)
@given(st.text(min_size=0, max_size=1100))
def test_any_accepted_correction_text_is_what_sefaz_counts_and_its_schema_takes(text):
    if correction_problems(text):
        return
    request = CorrectionRequest(
        order_id="o", access_key=KEY, sequence=1, text=text, requested_at=datetime.now(UTC)
    )
    event = correction_event(ISSUER, request)
    signed = _signer().sign(event.xml, event.reference_id)
    sent = etree.fromstring(signed.encode()).findtext(f".//{{{NFE}}}xCorrecao")

    assert sent == request.text
    assert CORRECTION_MIN <= len(sent or "") <= CORRECTION_MAX
    assert correction_event_schema().errors(signed) == []


def test_emoji_do_not_count_towards_a_correction_length():
    problems = correction_problems("Apto " + "\U0001f3e0" * 11)

    assert any("characters" in p for p in problems)
