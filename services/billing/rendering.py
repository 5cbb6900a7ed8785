"""Invoice documents rendered and sealed in worker processes.

Drawing a PDF, building its ISDOC and sealing it is pure CPU work in Python: in the service's event loop it would
stall every other call, and one process would use one core. Worker processes (one per core by default) take the
documents while the service settles and stores. Workers are spawned, not forked: a fork of a process running gRPC
and asyncio is not safe.

Each tenant seals with its own key and certificate from `<directory>/tenants/<slug>/` (key.pem, cert.pem, ca.pem).
A deployment puts the tenant's qualified seal there; when none is there, a development certificate authority in
the same directory issues one (documents/devca.py), so the demo's PDFs verify as signed and unmodified.
"""

from __future__ import annotations

import asyncio
import multiprocessing
import os
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

from .documents import devca, model, pdf
from .documents.signing import DocumentSigner

_directory: Path | None = None
_signers: dict[str, DocumentSigner] = {}


def _start_worker(directory: Path) -> None:
    global _directory
    _directory = directory


def signer_for(directory: Path, tenant: str, supplier: model.Supplier) -> DocumentSigner:
    credentials = devca.tenant_credentials(
        directory, tenant, supplier.legal_name, supplier.company_id, supplier.address.country
    )
    return DocumentSigner.from_files(credentials.key, credentials.cert, credentials.ca)


def render(tenant: str, doc: model.InvoiceDocument) -> tuple[bytes, bytes]:
    """The sealed PDF (with the ISDOC attached) and the ISDOC of one invoice; runs in a worker."""
    assert _directory is not None, "a worker starts with its directory"
    signer = _signers.get(tenant)
    if signer is None:
        signer = _signers[tenant] = signer_for(_directory, tenant, doc.supplier)
    rendered = pdf.render_invoice(doc, signer)
    return rendered.pdf, rendered.isdoc


class Renderer:
    def __init__(self, directory: Path, workers: int = 0) -> None:
        self.pool = ProcessPoolExecutor(
            max_workers=workers or os.cpu_count() or 1,
            mp_context=multiprocessing.get_context("spawn"),
            initializer=_start_worker,
            initargs=(directory,),
        )

    def __call__(self, tenant: str, doc: model.InvoiceDocument) -> asyncio.Future[tuple[bytes, bytes]]:
        return asyncio.get_running_loop().run_in_executor(self.pool, render, tenant, doc)

    async def close(self) -> None:
        await asyncio.to_thread(self.pool.shutdown, True, cancel_futures=True)
