"""Signatures judged by software nobody here wrote: xmlsec1 must verify what we sign, and
the SEFAZ simulator must accept what xmlsec1 signs and refuse what a real authoriser
refuses (297), not just agree with our own signer."""

from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from erpbrasil.assinatura.assinatura import XMLSignerWithSHA1
from lxml import etree
from signxml.algorithms import SignatureConstructionMethod

from domain.errors import ProviderRejected
from domain.fiscal import InvoiceCancellationRequest
from integrations.fiscal.certificate import Certificate, load_certificate, make_dev_certificate
from integrations.fiscal.events import cancellation_event
from integrations.fiscal.nfe import NfeBuilder
from integrations.fiscal.signing import C14N_10, DS_NS, NfeSigner
from tests.integration.sefaz_world import World, open_world
from tests.support import xmlsec
from tests.unit.test_nfe_builder import CERT_PASSWORD, ISSUER_CNPJ, sample_issuer, sample_request

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def certificate(tmp_path_factory: pytest.TempPathFactory) -> Certificate:
    path = tmp_path_factory.mktemp("cert") / "dev-a1.pfx"
    make_dev_certificate(path, ISSUER_CNPJ, CERT_PASSWORD)
    return load_certificate(path, CERT_PASSWORD)


@pytest.fixture(scope="module")
def signer(certificate: Certificate) -> NfeSigner:
    return NfeSigner(certificate)


@pytest.fixture
async def world(signer: NfeSigner) -> AsyncIterator[World]:
    xmlsec.xmlsec1()  # skip (or fail under CI) before starting anything
    async with open_world(signer) as opened:
        yield opened


def signed_the_old_way(xml: str, reference_id: str, certificate: Certificate) -> str:
    """What integrations/fiscal/signing.py did before: signxml without
    `excise_empty_xmlns_declarations`, so its SignedInfo digest covers an `xmlns=""`."""
    signer = XMLSignerWithSHA1(
        method=SignatureConstructionMethod.enveloped,
        signature_algorithm="rsa-sha1",
        digest_algorithm="sha1",
        c14n_algorithm=C14N_10,
    )
    signer.namespaces = {None: DS_NS}
    pem = certificate.cert.public_bytes(serialization.Encoding.PEM).decode()
    root = etree.fromstring(xml.encode())
    signed = signer.sign(root, key=certificate.key, cert=pem, reference_uri=f"#{reference_id}")
    return str(etree.tostring(signed, encoding=str))


def cancellation_request(access_key: str, protocol: str, authorised_at: datetime):
    return InvoiceCancellationRequest(
        order_id="order:store:A-1",
        access_key=access_key,
        protocol=protocol,
        reason="Cliente desistiu da compra antes do envio",
        authorised_at=authorised_at,
        requested_at=authorised_at,
    )


def test_our_signed_nfe_verifies_with_xmlsec1(signer, tmp_path):
    built = NfeBuilder(sample_issuer()).build(sample_request())

    verdict = xmlsec.verify(signer.sign(built.xml, built.reference_id), "infNFe", tmp_path)

    assert verdict.ok, verdict.output


def test_our_signed_cancellation_event_verifies_with_xmlsec1(signer, tmp_path):
    key = NfeBuilder(sample_issuer()).access_key(sample_request())
    moment = datetime(2026, 11, 20, 14, 31, tzinfo=UTC)
    event = cancellation_event(
        sample_issuer(), cancellation_request(key, "135260000000001", moment)
    )

    verdict = xmlsec.verify(signer.sign(event.xml, event.reference_id), "infEvento", tmp_path)

    assert verdict.ok, verdict.output


def test_the_old_signature_fails_xmlsec1(certificate, tmp_path):
    built = NfeBuilder(sample_issuer()).build(sample_request())

    verdict = xmlsec.verify(
        signed_the_old_way(built.xml, built.reference_id, certificate), "infNFe", tmp_path
    )

    assert not verdict.ok
    assert "signature verification failed" in verdict.output


async def test_the_authorised_proc_nfe_verifies_with_xmlsec1(world, tmp_path):
    emitted = await world.service.emit(sample_request())

    verdict = xmlsec.verify(emitted.proc_xml, "infNFe", tmp_path)

    assert verdict.ok, verdict.output


async def test_the_simulator_authorises_an_nfe_signed_by_xmlsec1(world, certificate, tmp_path):
    built = world.builder.build(sample_request())
    signed = xmlsec.sign(built.xml, built.reference_id, "infNFe", certificate, tmp_path)
    assert xmlsec.verify(signed, "infNFe", tmp_path).ok

    answer = await world.sefaz.authorise(signed)

    assert answer.cstat == 100, answer.reason
    assert len(world.authorisations()) == 1


async def test_the_simulator_cancels_with_an_event_signed_by_xmlsec1(world, certificate, tmp_path):
    invoice = (await world.service.emit(sample_request())).invoice
    event = cancellation_event(
        sample_issuer(),
        cancellation_request(invoice.access_key, invoice.protocol, invoice.authorised_at),
    )
    signed = xmlsec.sign(event.xml, event.reference_id, "infEvento", certificate, tmp_path)

    answer = await world.sefaz.send_event(signed)

    assert answer.cstat == 135, answer.reason


async def test_the_simulator_refuses_the_old_signature_with_297(world, certificate):
    built = world.builder.build(sample_request())

    with pytest.raises(ProviderRejected, match="Assinatura difere do calculado") as raised:
        await world.sefaz.authorise(signed_the_old_way(built.xml, built.reference_id, certificate))

    assert raised.value.code == "sefaz_297"
    assert world.authorisations() == []


async def test_a_value_changed_after_an_xmlsec1_signature_is_refused_by_both(
    world, certificate, tmp_path: Path
):
    built = world.builder.build(sample_request())
    signed = xmlsec.sign(built.xml, built.reference_id, "infNFe", certificate, tmp_path)
    tampered = signed.replace("<xNome>", "<xNome>X", 1)

    with pytest.raises(ProviderRejected, match="DigestValue") as raised:
        await world.sefaz.authorise(tampered)

    assert raised.value.code == "sefaz_297"
    assert not xmlsec.verify(tampered, "infNFe", tmp_path).ok
