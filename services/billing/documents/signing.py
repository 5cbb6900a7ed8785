"""PAdES B-B seals on invoice PDFs with pyHanko, one `DocumentSigner` per tenant built once and reused.

Attachments (the ISDOC) go into the same incremental update as the signature, so they are inside the signed byte
range: changing the attached XML breaks the seal just as changing the page does. No timestamp authority is reachable
from the portal's machines, so the level is B-B; a deployment with a TSA adds one through pyHanko's timestamper.

Speed. Key, certificates and pyHanko's `PdfSigner` are loaded once per tenant, and the space for the CMS is
reserved up front (from the certificates' sizes): without it pyHanko builds a whole dummy signature on every call
to measure it. Of what remained, 17 of 19 ms went to asn1crypto assembling the same structures again for every
document: the signed attributes (content type, message digest, signing-certificate-v2 with the certificate's hash
and issuer) and the signer's identifier (issuer and serial number). `_SealSigner` has pyHanko build them once and
reuses them: the signed attributes are kept as DER made with a random placeholder digest, in which each signature
puts its own digest — the only attribute that differs between two PAdES B-B seals of one signer. A seal now costs
a few milliseconds, mostly pyHanko reading the PDF and writing the update.
"""

from __future__ import annotations

import io
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from asn1crypto import algos, cms
from asn1crypto import keys as asn1_keys
from asn1crypto import pem as asn1_pem
from asn1crypto import x509 as asn1_x509
from pyhanko.pdf_utils import embed, generic
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.sign import fields, signers
from pyhanko_certvalidator.registry import SimpleCertificateStore

FIELD_NAME = "Seal"
# what a CMS holds besides the certificates: attributes, identifiers, an ECDSA or RSA 4096 signature
CMS_OVERHEAD = 2048


@dataclass(frozen=True)
class Attachment:
    """A file embedded in the PDF as an associated file of the document (PDF/A-3 /AF)."""

    name: str
    data: bytes
    mime_type: str
    description: str
    relationship: str = "/Alternative"  # the attachment is the document in another form


# what pyHanko signs for PAdES B-B without a timestamp; anything else (a signing time, a timestamp token, CAdES
# commitments) varies between signatures or per call and goes the ordinary way
_FIXED_ATTRIBUTES = frozenset({"content_type", "message_digest", "signing_certificate_v2"})
_OPTIONAL_SETTINGS = ("signing_time", "cades_signed_attrs", "adobe_revinfo_attr")


class _SealSigner(signers.SimpleSigner):
    """pyHanko's SimpleSigner with the per-signer parts of the CMS built once (see the module's docstring)."""

    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        self._placeholder = os.urandom(32)
        # DER of the signed attributes per way of calling, None where they are not all fixed
        self._attributes: dict[tuple, bytes | None] = {}
        # DER of the signer identifier, digest algorithm and signature mechanism per digest algorithm
        self._identities: dict[str, tuple[bytes, bytes, bytes]] = {}

    async def signed_attrs(
        self,
        data_digest: bytes,
        digest_algorithm: str,
        attr_settings=None,
        content_type="data",
        use_pades=False,
        timestamper=None,
        dry_run=False,
        is_pdf_sig=True,
    ) -> cms.CMSAttributes:
        options = {
            "attr_settings": attr_settings,
            "content_type": content_type,
            "use_pades": use_pades,
            "timestamper": timestamper,
            "dry_run": dry_run,
            "is_pdf_sig": is_pdf_sig,
        }
        # which attributes pyHanko adds depends on these; their values only on the signer, bar the digest
        present = tuple(getattr(attr_settings, name, None) is None for name in _OPTIONAL_SETTINGS)
        key = (digest_algorithm, content_type, use_pades, dry_run, is_pdf_sig, present)
        cacheable = timestamper is None and len(data_digest) == len(self._placeholder)
        if cacheable and key not in self._attributes:
            built = await super().signed_attrs(self._placeholder, digest_algorithm, **options)
            der = built.dump()
            fixed = {a["type"].native for a in built} == _FIXED_ATTRIBUTES and der.count(self._placeholder) == 1
            self._attributes[key] = der if fixed else None
        template = self._attributes.get(key) if cacheable else None
        if template is None:
            return await super().signed_attrs(data_digest, digest_algorithm, **options)
        return cms.CMSAttributes.load(template.replace(self._placeholder, data_digest))

    def signer_info(self, digest_algorithm: str, signed_attrs, signature) -> cms.SignerInfo:
        identity = self._identities.get(digest_algorithm)
        if identity is None:
            info = super().signer_info(digest_algorithm, signed_attrs, signature)
            self._identities[digest_algorithm] = (
                info["sid"].dump(),
                info["digest_algorithm"].dump(),
                info["signature_algorithm"].dump(),
            )
            return info
        sid, digest, mechanism = identity
        return cms.SignerInfo(
            {
                "version": "v1",
                "sid": cms.SignerIdentifier.load(sid),
                "digest_algorithm": algos.DigestAlgorithm.load(digest),
                "signature_algorithm": algos.SignedDigestAlgorithm.load(mechanism),
                "signed_attrs": signed_attrs,
                "signature": signature,
            }
        )


class DocumentSigner:
    """Seals PDFs for one tenant; thread-compatible, not thread-safe (one per worker thread or process)."""

    def __init__(self, key_pem: bytes, cert_pem: bytes, chain_pems: Sequence[bytes] = (), name: str = "") -> None:
        key = asn1_keys.PrivateKeyInfo.load(_der(key_pem))
        cert = asn1_x509.Certificate.load(_der(cert_pem))
        chain = [asn1_x509.Certificate.load(_der(pem)) for pem in chain_pems]
        self._signer = _SealSigner(
            signing_cert=cert, signing_key=key, cert_registry=SimpleCertificateStore.from_certs([cert, *chain])
        )
        # hex in the file: two characters a byte
        self._reserved = 2 * (CMS_OVERHEAD + sum(len(c.dump()) for c in (cert, *chain)))
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
        self._pdf_signer.sign_pdf(writer, output=out, bytes_reserved=self._reserved)
        return out.getvalue()


def _der(pem: bytes) -> bytes:
    return asn1_pem.unarmor(pem)[2] if asn1_pem.detect(pem) else pem
