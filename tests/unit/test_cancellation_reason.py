"""The xJust of a cancellation (110111) and of a voiding: whatever a person typed as the
order's cancel reason, the justification SEFAZ receives is 15 to 255 characters of the
NF-e's string type (SEFAZ answers 215 to anything else), and the contracts refuse a
reason outside those limits (hypothesis, checked against nfelib's XSD)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st
from lxml import etree
from pydantic import ValidationError

from domain.fiscal import (
    CANCELLATION_PREFIX,
    MAX_REASON,
    MIN_REASON,
    InvoiceCancellationRequest,
    cancellation_reason,
)
from domain.fiscal_lifecycle import NumberVoiding, void_reason
from integrations.fiscal.events import cancellation_event, voiding_request
from integrations.fiscal.schema import NFELIB, XsdValidator
from tests.unit.test_nfe_builder import sample_issuer

pytestmark = pytest.mark.unit

KEY = "35261111222333000181550010000000011000000012"
AT = datetime(2026, 11, 20, 14, 31, tzinfo=UTC)
NS = {"n": "http://www.portalfiscal.inf.br/nfe"}
DET_EVENTO = XsdValidator(NFELIB / "nfe_evento_cancel" / "schemas" / "v1_0" / "e110111_v1.00.xsd")
# What people type: accents, emoji, typographic dashes and quotes, tabs and newlines,
# control characters, long pastes, nothing at all.
TYPED = st.text(
    st.characters(codec="utf-8") | st.sampled_from("…—–“”\t\n"),
    max_size=600,
)


def cancellation(reason: str) -> InvoiceCancellationRequest:
    return InvoiceCancellationRequest(
        order_id="order:store:1",
        access_key=KEY,
        protocol="135260000000001",
        reason=reason,
        authorised_at=AT,
        requested_at=AT + timedelta(hours=1),
    )


def just(xml: str, path: str) -> str:
    found = etree.fromstring(xml.encode()).findtext(path, namespaces=NS)
    assert isinstance(found, str)
    return found


def just_errors(xjust: str) -> list[str]:
    """The XSD's verdict on an xJust (TJust: TString of 15 to 255 characters)."""
    det = etree.Element("{http://www.portalfiscal.inf.br/nfe}detEvento", versao="1.00")
    for name, value in (("descEvento", "Cancelamento"), ("nProt", "135260000000001")):
        etree.SubElement(det, f"{{{NS['n']}}}{name}").text = value
    etree.SubElement(det, f"{{{NS['n']}}}xJust").text = xjust
    return DET_EVENTO.errors(etree.tostring(det))


@given(TYPED)
def test_any_cancel_reason_becomes_an_xjust_sefaz_accepts(typed: str) -> None:
    reason = cancellation_reason(typed)
    event = cancellation_event(sample_issuer(), cancellation(reason))

    xjust = just(event.xml, "n:infEvento/n:detEvento/n:xJust")
    assert MIN_REASON <= len(xjust) <= MAX_REASON
    assert xjust.startswith(CANCELLATION_PREFIX.strip())
    assert just_errors(xjust) == []


@given(TYPED)
def test_any_voiding_reason_becomes_an_xjust_sefaz_accepts(typed: str) -> None:
    reason = void_reason(typed)
    NumberVoiding(order_id="order:store:1", reason=reason, at=AT)  # the contract holds it
    built = voiding_request(sample_issuer(), series=1, first=7, last=7, reason=reason, year=26)

    xjust = just(built.xml, "n:infInut/n:xJust")
    assert 15 <= len(xjust) <= 255
    assert just_errors(xjust) == []


@given(st.text(max_size=MIN_REASON - 1) | st.text(min_size=MAX_REASON + 1, max_size=400))
def test_a_cancellation_request_refuses_a_reason_outside_15_to_255(reason: str) -> None:
    with pytest.raises(ValidationError, match="reason"):
        cancellation(reason)


def test_the_xsd_itself_refuses_a_short_or_long_xjust() -> None:
    assert just_errors("Pedido cancelado") == []
    assert just_errors("Cancelado") != []  # 9 characters
    assert just_errors("x" * 256) != []
