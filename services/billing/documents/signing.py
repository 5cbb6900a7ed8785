"""PAdES B-B seals on invoice PDFs with pyHanko, one `DocumentSigner` per tenant built once and reused.

Attachments (the ISDOC) go into the same incremental update as the signature, so they are inside the signed byte
range: changing the attached XML breaks the seal just as changing the page does. No timestamp authority is reachable
from the portal's machines, so the level is B-B; a deployment with a TSA adds one through pyHanko's timestamper.

Speed. Key, certificates and pyHanko's `PdfSigner` are loaded once per tenant. The space for the CMS is reserved
up front (`RESERVED_BYTES`): without it pyHanko builds a whole dummy signature on every call to measure it, which
doubled the cost. An EC P-256 key signs in microseconds; what remains is pyHanko reading the PDF and asn1crypto
assembling the CMS (see bench/documents.py for the figures).
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from asn1crypto import keys as asn1_keys
from asn1crypto import pem as asn1_pem
from asn1crypto import x509 as asn1_x509
from pyhanko.pdf_utils import embed, generic
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.sign import fields, signers
from pyhanko_certvalidator.registry import SimpleCertificateStore

FIELD_NAME = "Seal"
# room for an ECDSA P-256 CMS with the certificate and the CA certificate, with a margin for longer names
RESERVED_BYTES = 8192


@dataclass(frozen=True)
class Attachment:
    """A file embedded in the PDF as an associated file of the document (PDF/A-3 /AF)."""

    name: str
    data: bytes
    mime_type: str
    description: str
    relationship: str = "/Alternative"  # the attachment is the document in another form


class DocumentSigner:
    """Seals PDFs for one tenant; thread-compatible, not thread-safe (one per worker thread or process)."""

    def __init__(self, key_pem: bytes, cert_pem: bytes, chain_pems: Sequence[bytes] = (), name: str = "") -> None:
        key = asn1_keys.PrivateKeyInfo.load(_der(key_pem))
        cert = asn1_x509.Certificate.load(_der(cert_pem))
        chain = [asn1_x509.Certificate.load(_der(pem)) for pem in chain_pems]
        self._signer = signers.SimpleSigner(
            signing_cert=cert, signing_key=key, cert_registry=SimpleCertificateStore.from_certs([cert, *chain])
        )
        self.name = name or cert.subject.native.get("organization_name", "")
        self._pdf_signer = signers.PdfSigner(
            signers.PdfSignatureMetadata(
                field_name=FIELD_NAME,
                md_algorithm="sha256",
                subfilter=fields.SigSeedSubFilter.PADES,
                name=self.name or None,
            ),
            self._signer,
        )

    @classmethod
    def from_files(cls, key: Path, cert: Path, ca: Path | None = None) -> DocumentSigner:
        return cls(key.read_bytes(), cert.read_bytes(), [ca.read_bytes()] if ca else [])

    def sign(self, pdf: bytes, attachments: Sequence[Attachment] = ()) -> bytes:
        """`pdf` with `attachments` embedded and a PAdES B-B seal over all of it, in one incremental update."""
        writer = IncrementalPdfFileWriter(io.BytesIO(pdf))
        for attachment in attachments:
            embed.embed_file(
                writer,
                embed.FileSpec(
                    file_spec_string=attachment.name,
                    file_name=attachment.name,
                    embedded_data=embed.EmbeddedFileObject.from_file_data(
                        writer, attachment.data, mime_type=attachment.mime_type
                    ),
                    description=attachment.description,
                    af_relationship=generic.NameObject(attachment.relationship),
                ),
            )
        out = io.BytesIO()
        self._pdf_signer.sign_pdf(writer, output=out, bytes_reserved=RESERVED_BYTES)
        return out.getvalue()


def _der(pem: bytes) -> bytes:
    return asn1_pem.unarmor(pem)[2] if asn1_pem.detect(pem) else pem
