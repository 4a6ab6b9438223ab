"""NF-e documents: an order's list, and each document (procNFe XML, DANFE PDF, event
XML). Every role reads them: ops and finance keep the books, the warehouse prints the
DANFE that goes on the box, viewers look."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Response
from pydantic import BaseModel, Field

from api.deps import ContextDep, DocumentsRole
from api.documents import describe, document_response, document_url
from api.errors import NotFound
from integrations.documents.store import DocumentKind, StoredDocument

router = APIRouter(tags=["documents"])

_ERROR: dict[str, Any] = {
    "content": {"application/json": {"example": {"error": "NotFound", "message": "..."}}}
}


class DocumentOut(BaseModel):
    kind: DocumentKind
    name: str = Field(description="the name in the store, e.g. nfe/<access key>-danfe.pdf")
    title: str
    access_key: str
    event_type: str | None = Field(default=None, description="tpEvento, events only")
    sequence: int | None = Field(default=None, description="nSeqEvento, events only")
    media_type: str
    size: int = Field(description="bytes")
    url: str

    @classmethod
    def of(cls, document: StoredDocument) -> DocumentOut:
        name = document.name
        return cls(
            kind=name.kind,
            name=name.path,
            title=describe(document),
            access_key=name.access_key,
            event_type=name.event_type,
            sequence=name.sequence,
            media_type=name.media_type,
            size=document.size,
            url=document_url(name),
        )


@router.get("/orders/{order_id}/documents", response_model=list[DocumentOut])
async def order_documents(order_id: str, ctx: ContextDep, _: DocumentsRole) -> list[DocumentOut]:
    """The order's NF-e documents: empty until its NF-e is authorised."""
    view = await ctx.orders.get(order_id)
    if view is None:
        raise NotFound(f"no order {order_id}; ids look like order:<channel>:<external id>")
    if not view.invoice_key:
        return []
    return [DocumentOut.of(d) for d in await ctx.documents.documents_of(view.invoice_key)]


@router.get(
    "/documents/{name:path}",
    response_class=Response,
    responses={
        200: {
            "description": "the document",
            "content": {"application/xml": {}, "application/pdf": {}},
        },
        404: {"description": "no such document", **_ERROR},
    },
)
async def document(name: str, ctx: ContextDep, _: DocumentsRole) -> Response:
    """One document by its name: `nfe/<key>-procNFe.xml`, `nfe/<key>-danfe.pdf` or
    `events/<key>-<tpEvento>-<nSeqEvento>-procEventoNFe.xml`."""
    return await document_response(ctx.documents, name)
