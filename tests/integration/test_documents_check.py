"""`retaguarda documents check` over a store the invoicing activities left (the SEFAZ
simulator over HTTP, a real SQLite file): it passes as left, and every tampered file
fails with what is wrong with it."""

from __future__ import annotations

import io
import json
import re
import shutil
import zipfile
from datetime import timedelta
from pathlib import Path

import pytest
from pypdf import PdfWriter
from typer.testing import CliRunner

from domain.fiscal import InvoiceStatus
from domain.fiscal_lifecycle import CorrectionRequest, CorrectionStatus
from integrations.documents.shipping import ShippingDocuments, failure_names
from retaguarda.cli import app
from retaguarda.documents_check import check_documents
from tests.integration.test_documents import Desk, cancellation, desk, signer
from tests.support import xmlsec
from tests.unit.test_nfe_builder import sample_request

pytestmark = pytest.mark.integration
__all__ = ["desk", "signer"]  # the fixtures, shared with the document store's tests


async def fill(desk: Desk) -> tuple[str, str]:
    """Two NF-e: one with a CC-e, one cancelled; six files. Returns their keys."""
    corrected = await desk.acts.emit_invoice(sample_request())
    cancelled = await desk.acts.emit_invoice(sample_request(number=2, order_id="order:store:A-2"))
    assert (await desk.acts.cancel_invoice(cancellation(cancelled))).status is (
        InvoiceStatus.CANCELLED
    )
    at = corrected.authorised_at + timedelta(hours=2)
    desk.world.state.clock = lambda: at + timedelta(seconds=1)
    letter = CorrectionRequest(
        order_id=corrected.order_id,
        access_key=corrected.access_key,
        sequence=1,
        text="Endereco de entrega: apartamento 42, bloco B, portaria pela rua lateral",
        requested_at=at,
    )
    assert (await desk.lifecycle.send_invoice_correction(letter)).status is (
        CorrectionStatus.REGISTERED
    )
    return corrected.access_key, cancelled.access_key


def run_check(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(app, ["documents", "check", *args])
    return result.exit_code, result.output


def words(output: str) -> str:
    """The output as one line: rich wraps it at the terminal's width."""
    return " ".join(output.split())


async def test_the_documents_the_invoicing_left_all_check_out(desk: Desk) -> None:
    xmlsec.xmlsec1()  # skipped without it (failed under CI=true)
    first, second = await fill(desk)

    report = check_documents(desk.root)

    assert report.ok, report.as_dict()["failures"]
    assert sorted(f.path for f in report.files) == sorted(desk.files())
    counts = report.counts()
    assert {kind: c["checked"] for kind, c in counts.items()} == {
        "procNFe": 2, "danfe": 2, "procEventoNFe": 2, "label": 0, "packing_slip": 0,
        "portal_screenshot": 0, "portal_trace": 0, "unknown": 0,
    }  # fmt: skip
    code, output = run_check("--json", "--dir", str(desk.root))
    assert code == 0, output
    assert json.loads(output) == {**report.as_dict(), "failures": []}
    code, output = run_check("--dir", str(desk.root))
    assert code == 0, output
    assert "ok: 6 file(s) checked" in words(output)
    assert {first, second} == {p.split("/")[1][:44] for p in desk.files()}


async def test_every_tampered_document_fails_with_what_is_wrong(desk: Desk) -> None:
    xmlsec.xmlsec1()
    first, second = await fill(desk)
    nfe, events = desk.root / "nfe", desk.root / "events"
    # The buyer's name changed after signing: the XSD still holds, the signature does not.
    proc = nfe / f"{first}-procNFe.xml"
    text = proc.read_text()
    assert text.count("<xNome>") >= 2
    head, _, tail = text.rpartition("<xNome>")
    proc.write_text(head + "<xNome>X" + tail[1:])  # one letter, the length kept
    # A CC-e whose text was rewritten.
    cce = events / f"{first}-110110-1-procEventoNFe.xml"
    cce.write_text(cce.read_text().replace("apartamento 42", "apartamento 43"))
    # The protocol's environment made impossible: protNFe is not signed, the XSD catches it.
    other = nfe / f"{second}-procNFe.xml"
    tampered, found = re.subn(r"(<infProt[^>]*><tpAmb>)2<", r"\g<1>9<", other.read_text())
    assert found == 1
    other.write_text(tampered)
    # One NF-e's DANFE kept under the other's name; a stray file.
    shutil.copy(nfe / f"{first}-danfe.pdf", nfe / f"{second}-danfe.pdf")
    (nfe / "notes.txt").write_text("not a document")

    report = check_documents(desk.root)
    problems = {f.path: " | ".join(f.problems) for f in report.failures}

    assert not report.ok
    assert set(problems) == {
        f"nfe/{first}-procNFe.xml",
        f"events/{first}-110110-1-procEventoNFe.xml",
        f"nfe/{second}-procNFe.xml",
        f"nfe/{second}-danfe.pdf",
        "nfe/notes.txt",
    }
    renamed = problems[f"nfe/{first}-procNFe.xml"]
    assert "signature of infNFe does not verify with xmlsec1" in renamed
    assert "XSD" not in renamed
    event = problems[f"events/{first}-110110-1-procEventoNFe.xml"]
    assert "signature of infEvento does not verify" in event
    assert problems[f"nfe/{second}-procNFe.xml"].startswith("XSD procNFe_v4.00.xsd: line")
    assert "tpAmb" in problems[f"nfe/{second}-procNFe.xml"]
    assert problems[f"nfe/{second}-danfe.pdf"] == (
        f"its text does not show its access key {second}"
    )
    assert problems["nfe/notes.txt"] == "not a name the document store gives"
    assert report.counts()["procNFe"] == {"checked": 2, "failed": 2}

    code, output = run_check("--dir", str(desk.root))
    assert code == 1
    assert "5 of 7 file(s) failed" in words(output)
    assert f"FAIL nfe/{second}-danfe.pdf" in words(output)
    code, output = run_check("--json", "--dir", str(desk.root))
    assert code == 1
    assert len(json.loads(output)["failures"]) == 5

    (nfe / f"{first}-danfe.pdf").unlink()
    again = {f.path: f.problems for f in check_documents(desk.root).failures}
    assert "its DANFE (PDF) is not in the store" in again[f"nfe/{first}-procNFe.xml"]


def test_without_xmlsec1_or_a_store_the_check_says_what_is_missing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    code, output = run_check("--dir", str(tmp_path / "absent"))
    assert code == 1
    assert "no document store at" in words(output)

    monkeypatch.setenv("PATH", str(tmp_path))  # no xmlsec1 there
    code, output = run_check("--dir", str(tmp_path))
    assert code == 2
    assert "xmlsec1 is not installed" in words(output)
    assert "install the Debian package `xmlsec1`" in words(output)


def a_pdf() -> bytes:
    writer, out = PdfWriter(), io.BytesIO()
    writer.add_blank_page(width=288, height=432)  # a 4 x 6 in label
    writer.write(out)
    return out.getvalue()


def a_trace() -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("trace.trace", '{"type": "context-options"}\n')
    return out.getvalue()


async def test_the_shipping_documents_are_judged_too(tmp_path: Path) -> None:
    """Labels, packing slips and what a failed portal task left are in the same store:
    each is read back by pypdf or zipfile, and a label needs its packing slip."""
    xmlsec.xmlsec1()
    store = ShippingDocuments(tmp_path)
    failed = failure_names(1)
    for order in ("order:store:1", "order:marketplace:MLB-2"):
        await store.put(order, "label.pdf", a_pdf())
        await store.put(order, "packing-slip.pdf", a_pdf())
    await store.put("order:store:1", failed["screenshot.png"], b"\x89PNG\r\n\x1a\n" + b"0" * 40)
    await store.put("order:store:1", failed["trace.zip"], a_trace())

    report = check_documents(tmp_path)

    assert report.ok, report.as_dict()["failures"]
    checked = {kind: c["checked"] for kind, c in report.counts().items() if c["checked"]}
    assert checked == {"label": 2, "packing_slip": 2, "portal_screenshot": 1, "portal_trace": 1}

    ours, theirs = (
        tmp_path / "shipping" / "order%3Astore%3A1",
        (tmp_path / "shipping" / "order%3Amarketplace%3AMLB-2"),
    )
    (ours / "label.pdf").write_bytes(b"%PDF-1.7 cut short")
    (ours / failed["trace.zip"]).write_bytes(b"PK not really")
    (ours / failed["screenshot.png"]).write_bytes(b"GIF89a")
    (theirs / "packing-slip.pdf").unlink()
    (theirs / "notes.txt").write_text("not a document")

    problems = {f.path: " | ".join(f.problems) for f in check_documents(tmp_path).failures}

    assert problems.pop("shipping/order%3Astore%3A1/label.pdf").startswith("pypdf cannot read it")
    assert problems.pop("shipping/order%3Astore%3A1/portal-1-trace.zip").startswith(
        "not a zip archive"
    )
    assert problems.pop("shipping/order%3Astore%3A1/portal-1-screenshot.png") == "not a PNG image"
    assert problems.pop("shipping/order%3Amarketplace%3AMLB-2/label.pdf") == (
        "its packing slip is not in the store"
    )
    assert problems.pop("shipping/order%3Amarketplace%3AMLB-2/notes.txt") == (
        "not a name the document store gives"
    )
    assert problems == {}
