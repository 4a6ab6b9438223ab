from datetime import UTC, datetime, timedelta

import pytest
from lxml import etree

from domain.fiscal import InvoiceCancellationRequest
from integrations.fiscal.certificate import (
    CertificateError,
    load_certificate,
    make_dev_certificate,
)
from integrations.fiscal.events import cancellation_event
from integrations.fiscal.nfe import NfeBuilder, digest_value
from integrations.fiscal.schema import InvalidDocument, cancellation_event_schema, nfe_schema
from integrations.fiscal.signing import NfeSigner
from sandbox.xmldsig import SignatureRejected, verify_enveloped
from tests.unit.test_nfe_builder import (
    CERT_PASSWORD,
    ISSUER_CNPJ,
    dev_signer,
    sample_issuer,
    sample_request,
)

pytestmark = pytest.mark.unit

DS = {"ds": "http://www.w3.org/2000/09/xmldsig#"}


@pytest.fixture(scope="module")
def signer(tmp_path_factory: pytest.TempPathFactory) -> NfeSigner:
    return dev_signer(tmp_path_factory.mktemp("cert"))


def verify(signed: str) -> str:
    """The Id of the element the signature covers, once it verifies by the standard
    (sandbox/xmldsig.py; xmlsec1 judges it in tests/integration/test_signature_interop.py)."""
    root = etree.fromstring(signed.encode())
    reference_id = str(root.find(".//ds:Reference", DS).get("URI")).removeprefix("#")
    verify_enveloped(root, reference_id)
    return reference_id


def test_signed_nfe_verifies_with_the_certificate_it_carries(signer):
    built = NfeBuilder(sample_issuer()).build(sample_request())

    signed = signer.sign(built.xml, built.reference_id)

    assert verify(signed) == f"NFe{built.access_key}"
    assert etree.fromstring(signed.encode())[-1].tag == f"{{{DS['ds']}}}Signature"
    assert "\n" not in signed
    assert len(digest_value(signed)) == 28


def test_a_changed_value_breaks_the_signature(signer):
    built = NfeBuilder(sample_issuer()).build(sample_request())
    signed = signer.sign(built.xml, built.reference_id)

    with pytest.raises(SignatureRejected):
        verify(signed.replace("<vNF>", "<vNF>1"))


def test_signed_cancellation_event_is_schema_valid_and_verifies(signer):
    request = InvoiceCancellationRequest(
        order_id="order:store:A-1",
        access_key=NfeBuilder(sample_issuer()).access_key(sample_request()),
        protocol="135260000000001",
        reason="Cliente desistiu da compra antes do envio",
        authorised_at=datetime(2026, 11, 20, 14, 31, tzinfo=UTC),
        requested_at=datetime(2026, 11, 20, 16, 0, tzinfo=UTC),
    )
    event = cancellation_event(sample_issuer(), request)

    signed = signer.sign(event.xml, event.reference_id)

    assert cancellation_event_schema().errors(signed) == []
    assert verify(signed) == f"ID110111{request.access_key}01"


def test_schema_check_names_the_document_and_the_missing_signature():
    built = NfeBuilder(sample_issuer()).build(sample_request())

    with pytest.raises(InvalidDocument, match=r"NF-e 1/1 does not match nfe_v4.00.xsd.*Signature"):
        nfe_schema().check(built.xml, "NF-e 1/1")


def test_dev_certificate_looks_like_an_icp_brasil_a1_and_is_not_overwritten(tmp_path):
    path = tmp_path / "a1.pfx"
    make_dev_certificate(path, ISSUER_CNPJ, CERT_PASSWORD, name="LOJA EXEMPLO")
    first = path.read_bytes()
    make_dev_certificate(path, ISSUER_CNPJ, CERT_PASSWORD)

    certificate = load_certificate(path, CERT_PASSWORD)

    assert path.read_bytes() == first
    assert certificate.subject == f"LOJA EXEMPLO:{ISSUER_CNPJ}"
    assert certificate.cnpj == ISSUER_CNPJ
    assert certificate.not_valid_after > datetime.now(UTC) + timedelta(days=365)


def test_missing_certificate_error_names_the_file(tmp_path):
    with pytest.raises(CertificateError, match=r"nowhere\.pfx does not exist"):
        load_certificate(tmp_path / "nowhere.pfx", "x")


def test_wrong_password_error_names_the_file(tmp_path):
    path = tmp_path / "a1.pfx"
    make_dev_certificate(path, ISSUER_CNPJ, CERT_PASSWORD)

    with pytest.raises(CertificateError, match=r"a1\.pfx: wrong password"):
        load_certificate(path, "not-the-password")


def test_expired_certificate_is_refused(tmp_path):
    path = tmp_path / "old.pfx"
    make_dev_certificate(path, ISSUER_CNPJ, CERT_PASSWORD, valid_days=-1)

    with pytest.raises(CertificateError, match="expired"):
        load_certificate(path, CERT_PASSWORD)
