"""The document store: what a seller must keep and hand out for each NF-e.

Names are fixed by the access key, so a document has one place and nothing else can be
named: `nfe/<access key>-procNFe.xml`, `nfe/<access key>-danfe.pdf` and
`events/<access key>-<tpEvento>-<nSeqEvento>-procEventoNFe.xml`. `DocumentName`
validates every part (44 digits, 6 digits, 1..20 without leading zeros), so a name read
from a URL can never point outside the store.

Documents are issued once and never change: `put` of the same content is a no-op (an
activity may run twice), and a different content for a name already stored leaves the
first one there (it is the one that was authorised and handed out) with a warning.
`DocumentStore` is the port; `FileDocumentStore` keeps them in a directory (default
`var/documents/`, setting `RETAGUARDA_DOCUMENTS__DIR`) with atomic writes, and an object
store (S3 and the like) would implement the same four methods.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import re
import tempfile
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Protocol

from domain.errors import DomainError

log = logging.getLogger(__name__)

MAX_EVENT_SEQUENCE = 20  # nSeqEvento: 1..20 (the CC-e's limit; a cancellation is 1)
# re.ASCII: \d is 0-9 only, not every script's digits
_KEY = re.compile(r"\d{44}", re.ASCII)
_EVENT_TYPE = re.compile(r"\d{6}", re.ASCII)
_NFE_FILE = re.compile(r"(?P<key>\d{44})-(?P<kind>procNFe\.xml|danfe\.pdf)", re.ASCII)
_EVENT_FILE = re.compile(
    r"(?P<key>\d{44})-(?P<type>\d{6})-(?P<seq>[1-9]\d?)-procEventoNFe\.xml", re.ASCII
)
_FILE_MODE = 0o640  # documents carry the customer's name, CPF and address


class InvalidDocumentName(DomainError):
    """Not the name of a document this store can hold."""

    def __init__(self, message: str) -> None:
        super().__init__(message, code="invalid_document_name")


class DocumentKind(StrEnum):
    NFE_XML = "procNFe"  # the nfeProc: signed NF-e + protNFe
    DANFE = "danfe"  # the printed auxiliary document, PDF
    EVENT_XML = "procEventoNFe"  # a registered event (cancellation, CC-e): evento + retEvento


FOLDERS = {DocumentKind.NFE_XML: "nfe", DocumentKind.DANFE: "nfe", DocumentKind.EVENT_XML: "events"}
MEDIA_TYPES = {
    DocumentKind.NFE_XML: "application/xml",
    DocumentKind.DANFE: "application/pdf",
    DocumentKind.EVENT_XML: "application/xml",
}


@dataclass(frozen=True, slots=True)
class DocumentName:
    kind: DocumentKind
    access_key: str
    event_type: str | None = None  # tpEvento, e.g. 110111 (cancellation); events only
    sequence: int | None = None  # nSeqEvento; events only

    def __post_init__(self) -> None:
        if not _KEY.fullmatch(self.access_key):
            raise InvalidDocumentName(f"an access key has 44 digits, not {self.access_key!r}")
        if self.kind is DocumentKind.EVENT_XML:
            if self.event_type is None or not _EVENT_TYPE.fullmatch(self.event_type):
                raise InvalidDocumentName(f"tpEvento has 6 digits, not {self.event_type!r}")
            if self.sequence is None or not 1 <= self.sequence <= MAX_EVENT_SEQUENCE:
                raise InvalidDocumentName(
                    f"nSeqEvento runs from 1 to {MAX_EVENT_SEQUENCE}, not {self.sequence!r}"
                )
        elif self.event_type is not None or self.sequence is not None:
            raise InvalidDocumentName(f"a {self.kind} document has no event type or sequence")

    @property
    def folder(self) -> str:
        return FOLDERS[self.kind]

    @property
    def filename(self) -> str:
        if self.kind is DocumentKind.EVENT_XML:
            return f"{self.access_key}-{self.event_type}-{self.sequence}-procEventoNFe.xml"
        if self.kind is DocumentKind.DANFE:
            return f"{self.access_key}-danfe.pdf"
        return f"{self.access_key}-procNFe.xml"

    @property
    def path(self) -> str:
        """The name inside the store, e.g. `nfe/<key>-procNFe.xml`."""
        return f"{self.folder}/{self.filename}"

    @property
    def media_type(self) -> str:
        return MEDIA_TYPES[self.kind]

    @classmethod
    def parse(cls, path: str) -> DocumentName:
        """The document named `folder/filename`; anything else raises InvalidDocumentName."""
        folder, _, filename = path.partition("/")
        if folder == "nfe" and (found := _NFE_FILE.fullmatch(filename)):
            kind = DocumentKind.DANFE if found["kind"] == "danfe.pdf" else DocumentKind.NFE_XML
            return cls(kind, found["key"])
        if folder == "events" and (found := _EVENT_FILE.fullmatch(filename)):
            return cls(DocumentKind.EVENT_XML, found["key"], found["type"], int(found["seq"]))
        raise InvalidDocumentName(
            f"no document is named {path[:120]!r}: names are nfe/<key>-procNFe.xml, "
            "nfe/<key>-danfe.pdf or events/<key>-<tpEvento>-<nSeqEvento>-procEventoNFe.xml"
        )


def nfe_xml(access_key: str) -> DocumentName:
    return DocumentName(DocumentKind.NFE_XML, access_key)


def danfe_pdf(access_key: str) -> DocumentName:
    return DocumentName(DocumentKind.DANFE, access_key)


def event_xml(access_key: str, event_type: str, sequence: int) -> DocumentName:
    return DocumentName(DocumentKind.EVENT_XML, access_key, event_type, sequence)


@dataclass(frozen=True, slots=True)
class StoredDocument:
    name: DocumentName
    size: int  # bytes


class DocumentStore(Protocol):
    async def put(self, name: DocumentName, data: bytes) -> bool:
        """Store `data` under `name` unless a document is there already; True when
        written. Never replaces a stored document, never leaves a partial one."""
        ...

    async def get(self, name: DocumentName) -> bytes | None: ...

    async def exists(self, name: DocumentName) -> bool: ...

    async def documents_of(self, access_key: str) -> list[StoredDocument]:
        """Every document of the NF-e: its XML, its DANFE, its events (by type, then
        sequence)."""
        ...


class FileDocumentStore:
    """Documents as files under `root` (created on the first write). Blocking file work
    runs in a thread, so the event loop keeps serving other activities and requests."""

    def __init__(self, root: Path) -> None:
        self.root = root

    async def put(self, name: DocumentName, data: bytes) -> bool:
        return await asyncio.to_thread(self._put, name, data)

    async def get(self, name: DocumentName) -> bytes | None:
        return await asyncio.to_thread(self._get, name)

    async def exists(self, name: DocumentName) -> bool:
        return await asyncio.to_thread(self._file(name).is_file)

    async def documents_of(self, access_key: str) -> list[StoredDocument]:
        if not _KEY.fullmatch(access_key):
            raise InvalidDocumentName(f"an access key has 44 digits, not {access_key!r}")
        return await asyncio.to_thread(self._documents_of, access_key)

    def _file(self, name: DocumentName) -> Path:
        return self.root / name.folder / name.filename

    def _get(self, name: DocumentName) -> bytes | None:
        try:
            return self._file(name).read_bytes()
        except FileNotFoundError:
            return None

    def _put(self, name: DocumentName, data: bytes) -> bool:
        target = self._file(name)
        existing = self._get(name)
        if existing is not None:
            if existing != data:
                log.warning(
                    "document %s is stored already with other content (%d bytes, now %d): "
                    "the stored one stays",
                    name.path,
                    len(existing),
                    len(data),
                )
            return False
        target.parent.mkdir(parents=True, exist_ok=True)
        # A hidden temp file in the same directory, renamed over the target: readers see
        # the whole document or none, whatever happens to this process meanwhile.
        fd, temp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".tmp")
        try:
            with os.fdopen(fd, "wb") as out:
                out.write(data)
                out.flush()
                os.fsync(out.fileno())
            os.chmod(temp, _FILE_MODE)
            os.replace(temp, target)
        except BaseException:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(temp)
            raise
        _sync_directory(target.parent)
        return True

    def _documents_of(self, access_key: str) -> list[StoredDocument]:
        found = []
        for folder in ("nfe", "events"):
            for path in (self.root / folder).glob(f"{access_key}-*"):
                try:
                    name = DocumentName.parse(f"{folder}/{path.name}")
                    size = path.stat().st_size
                except (InvalidDocumentName, FileNotFoundError):
                    continue
                found.append(StoredDocument(name, size))
        order = list(DocumentKind)
        return sorted(
            found,
            key=lambda d: (order.index(d.name.kind), d.name.event_type or "", d.name.sequence or 0),
        )


def _sync_directory(directory: Path) -> None:
    """Make the rename itself durable (POSIX); a no-op where directories cannot be opened."""
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)
