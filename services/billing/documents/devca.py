"""A development certificate authority and a document-sealing certificate per tenant, as PEM files.

Production seals invoices with each supplier's qualified certificate from a trust service provider. Development
and the demo need something that signs the same way, so this makes a local CA and, per tenant, an EC P-256 key with
a certificate naming the tenant's legal entity (key usage: digital signature and non-repudiation). P-256 because
poppler's pdfsig verifies it and an ECDSA signature costs a fraction of an RSA 2048 one.

Files are made once and reused. Each identity is written into a temporary directory and renamed into place: the
rename either publishes the complete key and certificate or fails because another process published first, in which
case that one's files are used — so processes starting together agree on one CA and one key per tenant.

    DIRECTORY/ca/key.pem, cert.pem
    DIRECTORY/tenants/<tenant>/key.pem, cert.pem, ca.pem
"""

from __future__ import annotations

import datetime as dt
import re
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

CA_YEARS = 10
SEAL_YEARS = 3
_TENANT = re.compile(r"[a-z0-9][a-z0-9_-]{0,62}")


@dataclass(frozen=True)
class Credentials:
    key: Path
    cert: Path
    ca: Path


@dataclass(frozen=True)
class _Identity:
    key: ec.EllipticCurvePrivateKey
    cert: x509.Certificate


def _pem_key(key: ec.EllipticCurvePrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )


def _publish(final: Path, files: dict[str, bytes]) -> None:
    """Writes `files` into `final` all at once, unless another process already did."""
    final.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{final.name}-", dir=final.parent))
    try:
        for name, data in files.items():
            (staging / name).write_bytes(data)
            (staging / name).chmod(0o600 if name == "key.pem" else 0o644)
        staging.rename(final)
    except OSError:
        # ENOTEMPTY/EEXIST: another process published first; its files are the ones to use
        if not (final / "cert.pem").exists():
            raise
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def _load(directory: Path) -> _Identity:
    key = serialization.load_pem_private_key((directory / "key.pem").read_bytes(), password=None)
    if not isinstance(key, ec.EllipticCurvePrivateKey):
        raise ValueError(f"{directory / 'key.pem'} is not an EC key")
    return _Identity(key, x509.load_pem_x509_certificate((directory / "cert.pem").read_bytes()))


def _validity(years: int) -> tuple[dt.datetime, dt.datetime]:
    # a little in the past, so a clock a minute behind another machine's still accepts a fresh certificate
    start = dt.datetime.now(dt.UTC) - dt.timedelta(hours=1)
    return start, start + dt.timedelta(days=365 * years)


def _certificate(subject: x509.Name, key: ec.EllipticCurvePrivateKey, issuer: _Identity | None) -> x509.Certificate:
    """A CA certificate when `issuer` is None (self-signed), else a document-sealing one issued by `issuer`."""
    is_ca = issuer is None
    signer = key if issuer is None else issuer.key
    start, end = _validity(CA_YEARS if is_ca else SEAL_YEARS)
    builder = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject if issuer is None else issuer.cert.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(start)
        .not_valid_after(end)
        .add_extension(x509.BasicConstraints(ca=is_ca, path_length=0 if is_ca else None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=not is_ca,
                content_commitment=not is_ca,  # non-repudiation
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=is_ca,
                crl_sign=is_ca,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
    )
    if issuer is not None:
        builder = builder.add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(issuer.key.public_key()), critical=False
        )
    return builder.sign(signer, hashes.SHA256())


def _ca(directory: Path) -> _Identity:
    home = directory / "ca"
    if not (home / "cert.pem").exists():
        key = ec.generate_private_key(ec.SECP256R1())
        name = x509.Name(
            [
                x509.NameAttribute(NameOID.ORGANIZATION_NAME, "energy-portal development"),
                x509.NameAttribute(NameOID.COMMON_NAME, "energy-portal development document CA"),
            ]
        )
        cert = _certificate(name, key, None)
        _publish(home, {"key.pem": _pem_key(key), "cert.pem": cert.public_bytes(serialization.Encoding.PEM)})
    return _load(home)


def tenant_credentials(directory: Path, tenant: str, legal_name: str, company_id: str, country: str) -> Credentials:
    """The tenant's sealing key and certificate under `directory`, made on first use (with the CA when missing).

    The subject is the legal entity: organisation = `legal_name`, organizationIdentifier = "NTR" + country + "-" +
    company id (the national trade register form of ETSI EN 319 412-1), country."""
    if not _TENANT.fullmatch(tenant):
        raise ValueError(f"not a tenant slug: {tenant!r}")
    home = Path(directory) / "tenants" / tenant
    if not (home / "cert.pem").exists():
        ca = _ca(Path(directory))
        key = ec.generate_private_key(ec.SECP256R1())
        subject = x509.Name(
            [
                x509.NameAttribute(NameOID.COUNTRY_NAME, country),
                x509.NameAttribute(NameOID.ORGANIZATION_NAME, legal_name),
                x509.NameAttribute(NameOID.ORGANIZATION_IDENTIFIER, f"NTR{country}-{company_id}"),
                x509.NameAttribute(NameOID.COMMON_NAME, legal_name),
            ]
        )
        cert = _certificate(subject, key, ca)
        _publish(
            home,
            {
                "key.pem": _pem_key(key),
                "cert.pem": cert.public_bytes(serialization.Encoding.PEM),
                "ca.pem": ca.cert.public_bytes(serialization.Encoding.PEM),
            },
        )
    return Credentials(home / "key.pem", home / "cert.pem", home / "ca.pem")
