"""xmlsec1, the reference XML-DSig implementation (Debian `xmlsec1`), as an independent
judge of our signatures and as another signer for the SEFAZ simulator to accept.

Missing: the tests are skipped, unless CI=true, where they fail (`make install` installs
it as root)."""

from __future__ import annotations

import os
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization

from integrations.fiscal.certificate import Certificate


def xmlsec1() -> str:
    found = shutil.which("xmlsec1")
    if found is None:
        message = "xmlsec1 is not installed (Debian package `xmlsec1`; `make install` as root)"
        if os.environ.get("CI") == "true":
            pytest.fail(f"{message} (CI=true: the signature interop tests are mandatory)")
        pytest.skip(message)
    return found


@dataclass(frozen=True)
class Verdict:
    ok: bool
    output: str


def verify(xml: str, id_element: str, directory: Path) -> Verdict:
    """`xmlsec1 --verify --insecure --id-attr:Id <id_element>` on `xml`, as
    ../shared/reference/brazil-ecommerce.md gives it."""
    path = directory / f"verify-{id_element}.xml"
    path.write_text(xml, encoding="utf-8")
    return verify_file(path, id_element)


def verify_file(path: Path, id_element: str) -> Verdict:
    """`xmlsec1 --verify --insecure --id-attr:Id <id_element>` on the file at `path`."""
    run = subprocess.run(
        [xmlsec1(), "--verify", "--insecure", "--id-attr:Id", id_element, str(path)],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    return Verdict(ok=run.returncode == 0, output=(run.stdout + run.stderr).strip())


SIGNATURE_TEMPLATE = (
    '<Signature xmlns="http://www.w3.org/2000/09/xmldsig#"><SignedInfo>'
    '<CanonicalizationMethod Algorithm="http://www.w3.org/TR/2001/REC-xml-c14n-20010315"/>'
    '<SignatureMethod Algorithm="http://www.w3.org/2000/09/xmldsig#rsa-sha1"/>'
    '<Reference URI="#{id}"><Transforms>'
    '<Transform Algorithm="http://www.w3.org/2000/09/xmldsig#enveloped-signature"/>'
    '<Transform Algorithm="http://www.w3.org/TR/2001/REC-xml-c14n-20010315"/></Transforms>'
    '<DigestMethod Algorithm="http://www.w3.org/2000/09/xmldsig#sha1"/>'
    "<DigestValue/></Reference></SignedInfo><SignatureValue/>"
    "<KeyInfo><X509Data><X509Certificate/></X509Data></KeyInfo></Signature>"
)


def sign(
    xml: str, reference_id: str, id_element: str, certificate: Certificate, directory: Path
) -> str:
    """Sign with xmlsec1 from a template placed where the NF-e manual puts the Signature:
    the last child of the signed element's parent (the document's root)."""
    key = directory / "key.pem"
    key.write_bytes(
        certificate.key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    cert = directory / "cert.pem"
    cert.write_bytes(certificate.cert.public_bytes(serialization.Encoding.PEM))
    closing = xml.rindex("</")
    template = xml[:closing] + SIGNATURE_TEMPLATE.format(id=reference_id) + xml[closing:]
    source, signed = directory / "template.xml", directory / "signed.xml"
    source.write_text(template, encoding="utf-8")
    subprocess.run(
        [
            xmlsec1(),
            "--sign",
            "--privkey-pem",
            f"{key},{cert}",
            "--id-attr:Id",
            id_element,
            "--output",
            str(signed),
            str(source),
        ],
        capture_output=True,
        text=True,
        timeout=30,
        check=True,
    )
    return signed.read_text(encoding="utf-8")
