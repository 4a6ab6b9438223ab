"""Enveloped XML-DSig verification as an authoriser does it, from the standard alone.

The SEFAZ simulator must not verify with the library our signer uses (signxml): the two
would share its bugs, and did (an `xmlns=""` signxml writes into the SignedInfo it signs
made every NF-e fail elsewhere while our simulator accepted it). This follows the
XML-DSig core validation steps with libxml2's C14N 1.0 (through lxml) and OpenSSL's
RSA (through cryptography), and nothing else:

1. the SignedInfo must use the algorithms the NF-e manual fixes (C14N 1.0, RSA-SHA1,
   one Reference to `#Id` with the enveloped-signature and C14N 1.0 transforms, SHA-1);
2. reference validation: SHA-1 of the canonical referenced element, the Signature
   removed from it if it is inside, must equal DigestValue;
3. signature validation: the canonical SignedInfo, as it stands in the document, must
   verify against SignatureValue with the key of the X509Certificate carried in KeyInfo.
"""

from __future__ import annotations

import base64
import binascii
import copy
import hashlib
from dataclasses import dataclass

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from lxml import etree

DS_NS = "http://www.w3.org/2000/09/xmldsig#"
C14N_10 = "http://www.w3.org/TR/2001/REC-xml-c14n-20010315"
ENVELOPED = "http://www.w3.org/2000/09/xmldsig#enveloped-signature"
RSA_SHA1 = "http://www.w3.org/2000/09/xmldsig#rsa-sha1"
SHA1 = "http://www.w3.org/2000/09/xmldsig#sha1"
_DS = {"ds": DS_NS}
_XML_ATTR = "{http://www.w3.org/XML/1998/namespace}"


class SignatureRejected(Exception):
    """The signature is absent, malformed or does not verify; `kind` says which:
    "certificate" (no usable X509Certificate), "form" (not the manual's algorithms or
    reference), "reference" (points elsewhere) or "value" (digest or RSA mismatch)."""

    def __init__(self, kind: str, reason: str) -> None:
        super().__init__(reason)
        self.kind = kind
        self.reason = reason


@dataclass(frozen=True)
class VerifiedSignature:
    certificate: x509.Certificate
    digest_value: str


def canonical(element: etree._Element) -> bytes:
    """Inclusive C14N 1.0 without comments of `element` as a document subset: the
    namespace declarations and xml:* attributes in scope from its ancestors are part of
    it, as the standard says.

    lxml's c14n of a non-root element writes `xmlns=""` on children whose default
    namespace an ancestor declared, so the subset is rebuilt as a root first, declaring
    what is in scope (`nsmap` holds the inherited declarations too)."""
    if element.getparent() is None:
        return bytes(etree.tostring(element, method="c14n", exclusive=False, with_comments=False))
    root = etree.Element(element.tag, nsmap=element.nsmap)
    for ancestor in reversed(list(element.iterancestors())):
        for name, value in ancestor.attrib.items():
            if str(name).startswith(_XML_ATTR):
                root.set(name, value)
    for name, value in element.attrib.items():
        root.set(name, value)
    root.text = element.text
    for child in element:
        root.append(copy.deepcopy(child))
    return bytes(etree.tostring(root, method="c14n", exclusive=False, with_comments=False))


def _one(parent: etree._Element, path: str, what: str) -> etree._Element:
    found = parent.findall(path, _DS)
    if len(found) != 1:
        raise SignatureRejected("form", f"a assinatura deve ter exatamente um {what}")
    return found[0]


def _algorithm(parent: etree._Element, path: str, expected: str, what: str) -> None:
    got = _one(parent, path, what).get("Algorithm")
    if got != expected:
        raise SignatureRejected("form", f"{what} {got!r} não é o exigido ({expected})")


def verify_enveloped(root: etree._Element, reference_id: str) -> VerifiedSignature:
    """Verify the Signature that signs the element with Id `reference_id` under `root`
    (an `NFe`, an `evento`, an `inutNFe`). Raises SignatureRejected."""
    signatures = root.findall(".//ds:Signature", _DS)
    if len(signatures) != 1:
        raise SignatureRejected("form", f"esperada uma assinatura, há {len(signatures)}")
    signature = signatures[0]
    signed_info = _one(signature, "ds:SignedInfo", "SignedInfo")
    _algorithm(signed_info, "ds:CanonicalizationMethod", C14N_10, "CanonicalizationMethod")
    _algorithm(signed_info, "ds:SignatureMethod", RSA_SHA1, "SignatureMethod")
    reference = _one(signed_info, "ds:Reference", "Reference")
    uri = reference.get("URI") or ""
    if uri != f"#{reference_id}":
        raise SignatureRejected("reference", f"a referência {uri!r} não é #{reference_id}")
    transforms = [t.get("Algorithm") for t in reference.findall("ds:Transforms/ds:Transform", _DS)]
    if transforms != [ENVELOPED, C14N_10]:
        raise SignatureRejected("form", f"transformações {transforms} não são as do manual")
    _algorithm(reference, "ds:DigestMethod", SHA1, "DigestMethod")

    cert_b64 = "".join((signature.findtext(".//ds:X509Certificate", "", _DS) or "").split())
    if not cert_b64:
        raise SignatureRejected("certificate", "sem X509Certificate")
    try:
        certificate = x509.load_der_x509_certificate(base64.b64decode(cert_b64, validate=True))
    except (ValueError, binascii.Error) as exc:
        raise SignatureRejected("certificate", f"X509Certificate ilegível: {exc}") from exc
    key = certificate.public_key()
    if not isinstance(key, rsa.RSAPublicKey):
        raise SignatureRejected("certificate", "o certificado não tem chave RSA")

    targets = [e for e in root.iter() if e.get("Id") == reference_id]
    if len(targets) != 1:
        raise SignatureRejected("reference", f"{len(targets)} elementos com Id {reference_id}")
    target = targets[0]
    if any(s is signature for s in target.iter(f"{{{DS_NS}}}Signature")):
        target = copy.deepcopy(target)  # the enveloped transform: drop the Signature
        for inner in target.iter(f"{{{DS_NS}}}Signature"):
            inner.getparent().remove(inner)
    digest = base64.b64encode(hashlib.sha1(canonical(target)).digest()).decode()
    stated = "".join((reference.findtext("ds:DigestValue", "", _DS) or "").split())
    if digest != stated:
        raise SignatureRejected("value", "DigestValue difere do calculado sobre o documento")

    value_b64 = "".join((signature.findtext("ds:SignatureValue", "", _DS) or "").split())
    try:
        value = base64.b64decode(value_b64, validate=True)
        key.verify(value, canonical(signed_info), padding.PKCS1v15(), hashes.SHA1())
    except (ValueError, binascii.Error, InvalidSignature) as exc:
        raise SignatureRejected("value", "SignatureValue não confere com o SignedInfo") from exc
    return VerifiedSignature(certificate=certificate, digest_value=stated)
