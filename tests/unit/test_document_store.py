"""The document store: names that cannot escape it, atomic and idempotent writes."""

from __future__ import annotations

import logging
import os
from pathlib import Path

import pytest

from integrations.documents import store as store_module
from integrations.documents.danfe import DanfeError, render_danfe
from integrations.documents.nfe import NfeDocuments, xml_file
from integrations.documents.store import (
    DocumentKind,
    DocumentName,
    FileDocumentStore,
    InvalidDocumentName,
    danfe_pdf,
    event_xml,
    nfe_xml,
)
from integrations.fiscal.proc_events import EventDocument

pytestmark = pytest.mark.unit

KEY = "35261111222333000181550010000000011724612128"
OTHER = "35261111222333000181550010000000029876543210"


@pytest.fixture
def store(tmp_path: Path) -> FileDocumentStore:
    return FileDocumentStore(tmp_path / "documents")


def files(root: Path) -> list[str]:
    return sorted(str(p.relative_to(root)) for p in root.rglob("*") if p.is_file())


def test_names_are_the_documented_paths() -> None:
    assert nfe_xml(KEY).path == f"nfe/{KEY}-procNFe.xml"
    assert danfe_pdf(KEY).path == f"nfe/{KEY}-danfe.pdf"
    assert event_xml(KEY, "110111", 1).path == f"events/{KEY}-110111-1-procEventoNFe.xml"
    assert nfe_xml(KEY).media_type == "application/xml"
    assert danfe_pdf(KEY).media_type == "application/pdf"


@pytest.mark.parametrize(
    "name",
    [nfe_xml(KEY), danfe_pdf(KEY), event_xml(KEY, "110110", 20), event_xml(KEY, "110111", 1)],
)
def test_a_name_parses_back_to_itself(name: DocumentName) -> None:
    assert DocumentName.parse(name.path) == name


@pytest.mark.parametrize(
    "path",
    [
        f"nfe/../{KEY}-procNFe.xml",
        f"../nfe/{KEY}-procNFe.xml",
        f"nfe/{KEY}-procNFe.xml/..",
        f"/etc/{KEY}-procNFe.xml",
        f"nfe//{KEY}-procNFe.xml",
        f"nfe/{KEY[:-1]}-procNFe.xml",  # 43 digits
        f"nfe/{KEY}0-procNFe.xml",  # 45 digits
        f"nfe/{KEY}-procNFe.xml\x00.pdf",
        f"nfe/{KEY}-danfe.PDF",
        f"nfe/{KEY}-110111-1-procEventoNFe.xml",  # an event outside events/
        f"events/{KEY}-procNFe.xml",
        f"events/{KEY}-11011-1-procEventoNFe.xml",  # tpEvento of 5 digits
        f"events/{KEY}-110111-0-procEventoNFe.xml",  # nSeqEvento 0
        f"events/{KEY}-110111-21-procEventoNFe.xml",  # nSeqEvento 21
        f"events/{KEY}-110111-01-procEventoNFe.xml",  # not the canonical spelling
        f"events/{KEY}-110111-1-procEventoNFe.xml/../../x",
        "nfe/٣٥" + KEY[2:] + "-procNFe.xml",  # non-ASCII digits
        "",
        "nfe",
    ],
)
def test_anything_else_is_not_a_document_name(path: str) -> None:
    with pytest.raises(InvalidDocumentName):
        DocumentName.parse(path)


@pytest.mark.parametrize(
    ("kind", "key", "event_type", "sequence"),
    [
        (DocumentKind.NFE_XML, "../" + KEY[3:], None, None),
        (DocumentKind.NFE_XML, KEY, "110111", None),
        (DocumentKind.EVENT_XML, KEY, "110111", 0),
        (DocumentKind.EVENT_XML, KEY, "110111", 21),
        (DocumentKind.EVENT_XML, KEY, "11011a", 1),
        (DocumentKind.EVENT_XML, KEY, None, 1),
    ],
)
def test_a_name_is_checked_when_made(
    kind: DocumentKind, key: str, event_type: str | None, sequence: int | None
) -> None:
    with pytest.raises(InvalidDocumentName):
        DocumentName(kind, key, event_type, sequence)


async def test_put_writes_the_document_under_its_name(store: FileDocumentStore) -> None:
    written = await store.put(nfe_xml(KEY), b"<nfeProc/>")

    assert written is True
    assert (store.root / "nfe" / f"{KEY}-procNFe.xml").read_bytes() == b"<nfeProc/>"
    assert await store.get(nfe_xml(KEY)) == b"<nfeProc/>"
    assert await store.exists(nfe_xml(KEY))
    assert files(store.root) == [f"nfe/{KEY}-procNFe.xml"]


async def test_the_same_content_again_is_a_no_op(store: FileDocumentStore) -> None:
    await store.put(nfe_xml(KEY), b"<nfeProc/>")
    path = store.root / "nfe" / f"{KEY}-procNFe.xml"
    os.utime(path, (1_000_000, 1_000_000))

    written = await store.put(nfe_xml(KEY), b"<nfeProc/>")

    assert written is False
    assert path.stat().st_mtime == 1_000_000
    assert files(store.root) == [f"nfe/{KEY}-procNFe.xml"]


async def test_a_stored_document_is_never_replaced(
    store: FileDocumentStore, caplog: pytest.LogCaptureFixture
) -> None:
    await store.put(nfe_xml(KEY), b"<nfeProc>authorised</nfeProc>")

    with caplog.at_level(logging.WARNING, logger=store_module.__name__):
        written = await store.put(nfe_xml(KEY), b"<nfeProc>rebuilt</nfeProc>")

    assert written is False
    assert await store.get(nfe_xml(KEY)) == b"<nfeProc>authorised</nfeProc>"
    assert "the stored one stays" in caplog.text


@pytest.mark.parametrize("failing", ["replace", "fsync"])
async def test_a_write_that_fails_leaves_no_document_and_no_temp_file(
    store: FileDocumentStore, monkeypatch: pytest.MonkeyPatch, failing: str
) -> None:
    def broken(*_: object) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, failing, broken)

    with pytest.raises(OSError, match="No space left"):
        await store.put(danfe_pdf(KEY), b"%PDF-1.4 ...")

    monkeypatch.undo()
    assert await store.get(danfe_pdf(KEY)) is None
    assert files(store.root) == []
    assert await store.put(danfe_pdf(KEY), b"%PDF-1.4 ...") is True


async def test_documents_of_lists_one_nfe_in_a_stable_order(store: FileDocumentStore) -> None:
    await store.put(event_xml(KEY, "110110", 2), b"<b/>")
    await store.put(danfe_pdf(KEY), b"%PDF")
    await store.put(event_xml(KEY, "110110", 1), b"<a/>")
    await store.put(nfe_xml(KEY), b"<nfeProc/>")
    await store.put(nfe_xml(OTHER), b"<other/>")
    (store.root / "nfe" / f".{KEY}-danfe.pdf.abc.tmp").write_bytes(b"half")
    (store.root / "events" / f"{KEY}-stray.txt").write_bytes(b"?")

    listed = await store.documents_of(KEY)

    assert [(d.name.path, d.size) for d in listed] == [
        (f"nfe/{KEY}-procNFe.xml", 10),
        (f"nfe/{KEY}-danfe.pdf", 4),
        (f"events/{KEY}-110110-1-procEventoNFe.xml", 4),
        (f"events/{KEY}-110110-2-procEventoNFe.xml", 4),
    ]
    assert await FileDocumentStore(store.root / "missing").documents_of(KEY) == []
    with pytest.raises(InvalidDocumentName):
        await store.documents_of("*")


async def test_nfe_documents_print_the_danfe_once_from_the_stored_xml(
    store: FileDocumentStore,
) -> None:
    printed: list[str] = []

    def render(xml: str) -> bytes:
        printed.append(xml)
        return b"%PDF " + xml.encode()

    documents = NfeDocuments(store, render)
    await documents.keep_authorised(KEY, "<nfeProc>first</nfeProc>")
    await documents.keep_authorised(KEY, "<nfeProc>first</nfeProc>")
    await store.put(danfe_pdf(OTHER), b"")  # unrelated
    (store.root / "nfe" / f"{KEY}-danfe.pdf").unlink()
    await documents.keep_authorised(KEY, "<nfeProc>rebuilt</nfeProc>")

    xml = xml_file("<nfeProc>first</nfeProc>")
    assert xml.startswith(b'<?xml version="1.0" encoding="UTF-8"?><nfeProc>')
    assert await store.get(nfe_xml(KEY)) == xml
    assert printed == [xml.decode(), xml.decode()]


async def test_nfe_documents_keep_each_event_under_its_type_and_sequence(
    store: FileDocumentStore,
) -> None:
    documents = NfeDocuments(store, lambda _: b"")
    events = [
        EventDocument(KEY, "110111", 1, "<procEventoNFe>c</procEventoNFe>"),
        EventDocument(KEY, "110110", 3, "<procEventoNFe>e</procEventoNFe>"),
    ]

    await documents.keep_events(events)
    await documents.keep_events(events)

    assert files(store.root) == [
        f"events/{KEY}-110110-3-procEventoNFe.xml",
        f"events/{KEY}-110111-1-procEventoNFe.xml",
    ]


def test_a_danfe_is_printed_only_from_an_authorised_nfeproc() -> None:
    with pytest.raises(DanfeError, match="not well-formed"):
        render_danfe("<nfeProc")
    with pytest.raises(DanfeError, match="from an nfeProc"):
        render_danfe('<NFe xmlns="http://www.portalfiscal.inf.br/nfe"/>')
    with pytest.raises(DanfeError, match="dhRecbto"):
        render_danfe('<nfeProc xmlns="http://www.portalfiscal.inf.br/nfe" versao="4.00"/>')
