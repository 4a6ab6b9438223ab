"""The A1 certificate (PKCS#12) that signs NF-e: made for development, loaded once.

Parsing a PKCS#12 costs ~100 ms, signing with the parsed key ~3 ms: the composition
root calls `load_certificate` once and hands the `Certificate` to `NfeSigner`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.serialization import pkcs12
from cryptography.x509.oid import NameOID

from domain.errors import RetaguardaError


class CertificateError(RetaguardaError):
    """The certificate file is missing, unreadable, locked by another password or expired."""


@dataclass(frozen=True)
class Certificate:
    """A parsed A1 certificate: the private key and its X.509 certificate."""

    key: rsa.RSAPrivateKey
    cert: x509.Certificate
    path: Path

    @property
    def subject(self) -> str:
        """The subject CN, "NAME:CNPJ" on ICP-Brasil e-CNPJ certificates."""
        names = self.cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)
        return str(names[0].value) if names else ""

    @property
    def cnpj(self) -> str:
        _, _, cnpj = self.subject.rpartition(":")
        return cnpj if cnpj.isdigit() else ""

    @property
    def not_valid_after(self) -> datetime:
        return self.cert.not_valid_after_utc


def make_dev_certificate(
    path: Path,
    cnpj: str,
    password: str,
    *,
    name: str = "RETAGUARDA DESENVOLVIMENTO",
    valid_days: int = 3650,
) -> None:
    """Write a self-signed, A1-like PKCS#12 to `path` unless the file already exists.

    For development and tests only: the SEFAZ simulator accepts self-signed
    certificates, a real SEFAZ accepts only ICP-Brasil ones."""
    if path.exists():
        return
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    subject = x509.Name(
        [
            x509.NameAttribute(NameOID.COUNTRY_NAME, "BR"),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "ICP-Brasil"),
            x509.NameAttribute(NameOID.ORGANIZATIONAL_UNIT_NAME, "RFB e-CNPJ A1"),
            x509.NameAttribute(NameOID.COMMON_NAME, f"{name}:{cnpj}"),
        ]
    )
    now = datetime.now(UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(days=1))
        .not_valid_after(now + timedelta(days=valid_days))
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=True,
                key_encipherment=True,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=False,
                crl_sign=False,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .sign(key, hashes.SHA256())
    )
    data = pkcs12.serialize_key_and_certificates(
        name=name.encode(),
        key=key,
        cert=cert,
        cas=None,
        encryption_algorithm=serialization.BestAvailableEncryption(password.encode()),
    )
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    path.chmod(0o600)


def load_certificate(path: Path, password: str) -> Certificate:
    """Parse the PKCS#12 at `path`. Call once, at the composition root."""
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise CertificateError(f"certificate file {path} does not exist") from None
    except OSError as exc:
        raise CertificateError(f"cannot read certificate file {path}: {exc}") from exc
    try:
        key, cert, _chain = pkcs12.load_key_and_certificates(data, password.encode())
    except ValueError as exc:
        raise CertificateError(
            f"cannot open certificate file {path}: wrong password or not a PKCS#12 file"
        ) from exc
    if cert is None or not isinstance(key, rsa.RSAPrivateKey):
        raise CertificateError(
            f"certificate file {path} must hold an RSA private key and its certificate"
        )
    if cert.not_valid_after_utc < datetime.now(UTC):
        raise CertificateError(
            f"certificate in {path} expired on {cert.not_valid_after_utc:%Y-%m-%d}"
        )
    return Certificate(key=key, cert=cert, path=path)
