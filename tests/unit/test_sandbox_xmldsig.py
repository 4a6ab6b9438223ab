"""The SEFAZ simulator's own XML-DSig verifier: what makes an authoriser answer 290, 297
or 298. (That it agrees with xmlsec1 is tests/integration/test_signature_interop.py.)"""

import pytest
from lxml import etree

from integrations.fiscal.nfe import NfeBuilder
from integrations.fiscal.signing import NfeSigner
from sandbox.sefaz_xml import Rejection, verify_signature
from sandbox.xmldsig import canonical
from tests.unit.test_nfe_builder import ISSUER_CNPJ, dev_signer, sample_issuer, sample_request

pytestmark = pytest.mark.unit


@pytest.fixture(scope="module")
def signer(tmp_path_factory: pytest.TempPathFactory) -> NfeSigner:
    return dev_signer(tmp_path_factory.mktemp("cert"))


@pytest.fixture(scope="module")
def signed(signer: NfeSigner) -> tuple[str, str]:
    built = NfeBuilder(sample_issuer()).build(sample_request())
    return signer.sign(built.xml, built.reference_id), built.reference_id


def cstat_of(xml: str, reference_id: str, cnpj: str = ISSUER_CNPJ) -> int:
    try:
        verify_signature(etree.fromstring(xml.encode()), reference_id, cnpj)
    except Rejection as rejection:
        return rejection.cstat
    return 0


def test_a_correct_signature_passes(signed):
    assert cstat_of(*signed) == 0


def test_a_changed_value_is_297(signed):
    xml, reference_id = signed
    assert cstat_of(xml.replace("<nNF>1<", "<nNF>2<"), reference_id) == 297


def test_a_changed_signed_info_is_297(signed):
    xml, reference_id = signed
    forged = xml.replace("<DigestValue>", "<DigestValue>A", 1)
    assert cstat_of(forged, reference_id) == 297


def test_a_signature_of_another_element_is_298(signed):
    xml, reference_id = signed
    assert cstat_of(xml, reference_id.replace("NFe35", "NFe33")) == 298


@pytest.mark.parametrize(
    ("standard", "other"),
    [
        ("xmldsig#rsa-sha1", "xmldsig-more#rsa-sha256"),
        ("REC-xml-c14n-20010315", "xml-exc-c14n#"),
        ("xmldsig#sha1", "xmlenc#sha256"),
    ],
)
def test_algorithms_other_than_the_manuals_are_298(signed, standard, other):
    xml, reference_id = signed
    assert cstat_of(xml.replace(standard, other, 1), reference_id) == 298


def test_no_certificate_is_290(signed):
    xml, reference_id = signed
    start = xml.index("<X509Certificate>") + len("<X509Certificate>")
    end = xml.index("</X509Certificate>")
    assert cstat_of(xml[:start] + xml[end:], reference_id) == 290


def test_a_certificate_of_another_cnpj_base_is_213(signed):
    xml, reference_id = signed
    assert cstat_of(xml, reference_id, cnpj="99888777000166") == 213


def test_canonical_form_of_a_child_keeps_the_inherited_default_namespace():
    root = etree.fromstring(b'<a xmlns="urn:x" xmlns:u="urn:unused"><b Id="1"><c>t</c></b></a>')

    assert canonical(root[0]) == b'<b xmlns="urn:x" xmlns:u="urn:unused" Id="1"><c>t</c></b>'
