"""Serving stored NF-e documents, for the JSON API and the console alike: a name read
from a URL is parsed into a `DocumentName` (anything else is a 404, so no path can
reach outside the store), and the file goes out with its media type."""

from __future__ import annotations

from fastapi import Response

from api.errors import NotFound
from integrations.documents.store import (
    DocumentKind,
    DocumentName,
    DocumentStore,
    InvalidDocumentName,
    StoredDocument,
)

EVENT_NAMES = {"110111": "cancellation", "110110": "correction letter (CC-e)"}


def document_name(path: str) -> DocumentName:
    try:
        return DocumentName.parse(path)
    except InvalidDocumentName as exc:
        raise NotFound(exc.message) from None


def document_url(name: DocumentName, prefix: str = "") -> str:
    return f"{prefix}/documents/{name.path}"


def describe(document: StoredDocument) -> str:
    """What a person calls the document: `DANFE (PDF)`, `cancellation XML (110111, 1)`."""
    name = document.name
    if name.kind is DocumentKind.DANFE:
        return "DANFE (PDF)"
    if name.kind is DocumentKind.NFE_XML:
        return "NF-e XML (procNFe)"
    event = EVENT_NAMES.get(name.event_type or "", "event")
    return f"{event} XML ({name.event_type}, nº {name.sequence})"


async def document_response(store: DocumentStore, path: str) -> Response:
    name = document_name(path)
    data = await store.get(name)
    if data is None:
        raise NotFound(
            f"there is no document {name.path}: it is stored once the NF-e is authorised "
            "(or the event registered); list an order's documents at "
            "/orders/{order_id}/documents"
        )
    # The DANFE opens in the browser to be printed; XML is saved. An XML file opened
    # inline runs no script and loads nothing (sandbox), whatever it contained.
    inline = name.kind is DocumentKind.DANFE
    headers = {
        "Content-Disposition": f"{'inline' if inline else 'attachment'}; "
        f'filename="{name.filename}"',
        "X-Content-Type-Options": "nosniff",
        "Cache-Control": "private, no-store",
    }
    if not inline:
        headers["Content-Security-Policy"] = "default-src 'none'; sandbox"
    return Response(content=data, media_type=name.media_type, headers=headers)
