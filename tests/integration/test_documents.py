"""The documents an NF-e leaves on disk, judged by software nobody here wrote: the
invoicing activities against the SEFAZ simulator over real HTTP, on a real SQLite file;
then xmlsec1 on each XML, nfelib's XSDs, and pypdf reading the DANFE's text."""

from __future__ import annotations

import io
import re
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import pytest
from lxml import etree
from pypdf import PdfReader

from activities.fiscal_lifecycle import FiscalLifecycleActivities
from activities.invoicing import InvoicingActivities
from db.fiscal_lifecycle import FiscalLifecycleRepository
from db.invoices import InvoiceRepository
from db.orders import OrderReadModel
from db.session import create_engine, create_sessionmaker
from domain.errors import ProviderUnavailable
from domain.fiscal import Invoice, InvoiceCancellationRequest, InvoiceStatus
from domain.fiscal_lifecycle import CorrectionRequest, CorrectionStatus, ReturnInvoiceRequest
from domain.steps import PrepareInvoice
from integrations.documents.nfe import NfeDocuments
from integrations.documents.store import FileDocumentStore
from integrations.fiscal.schema import NFELIB
from integrations.fiscal.signing import NfeSigner
from sandbox.core import FaultConfig
from tests.integration.sefaz_world import World, open_world
from tests.support import xmlsec
from tests.unit.test_nfe_builder import dev_signer, sample_request

pytestmark = pytest.mark.integration

PROC_NFE_XSD = NFELIB / "nfe" / "schemas" / "v4_0" / "procNFe_v4.00.xsd"
PROC_EVENT_XSD = NFELIB / "nfe_evento_cancel" / "schemas" / "v1_0" / "procEventoCancNFe_v1.00.xsd"
PROC_CCE_XSD = NFELIB / "nfe_evento_cce" / "schemas" / "v1_0" / "procCCeNFe_v1.00.xsd"


@pytest.fixture(scope="module")
def signer(tmp_path_factory: pytest.TempPathFactory) -> NfeSigner:
    return dev_signer(tmp_path_factory.mktemp("cert"))


@dataclass
class Desk:
    world: World
    acts: InvoicingActivities
    lifecycle: FiscalLifecycleActivities
    root: Path

    def files(self) -> list[str]:
        return sorted(str(p.relative_to(self.root)) for p in self.root.rglob("*") if p.is_file())


@pytest.fixture
async def desk(signer: NfeSigner, sqlite_url: str, tmp_path: Path) -> AsyncIterator[Desk]:
    engine = create_engine(sqlite_url)
    sessions = create_sessionmaker(engine)
    root = tmp_path / "documents"
    try:
        async with open_world(signer) as world:
            documents = NfeDocuments(FileDocumentStore(root))
            invoices = InvoiceRepository(sessions)
            acts = InvoicingActivities(world.service, invoices, OrderReadModel(sessions), documents)
            lifecycle = FiscalLifecycleActivities(
                world.service, invoices, FiscalLifecycleRepository(sessions), documents
            )
            yield Desk(world, acts, lifecycle, root)
    finally:
        await engine.dispose()


def valid(xsd: Path, path: Path) -> list[str]:
    schema = etree.XMLSchema(etree.parse(str(xsd)))
    ok = schema.validate(etree.parse(str(path)))
    return [] if ok else [str(e) for e in schema.error_log]


def pdf_text(path: Path) -> str:
    return "".join(page.extract_text() for page in PdfReader(io.BytesIO(path.read_bytes())).pages)


def cancellation(invoice: Invoice) -> InvoiceCancellationRequest:
    return InvoiceCancellationRequest(
        order_id=invoice.order_id,
        access_key=invoice.access_key,
        protocol=invoice.protocol,
        reason="Pedido cancelado pelo cliente antes do envio",
        authorised_at=invoice.authorised_at,
        requested_at=invoice.authorised_at + timedelta(minutes=1),
    )


async def test_an_authorised_nfe_leaves_its_procnfe_and_danfe_that_check_out(
    desk: Desk, tmp_path: Path
) -> None:
    invoice = await desk.acts.emit_invoice(sample_request())
    key = invoice.access_key
    xml, pdf = desk.root / "nfe" / f"{key}-procNFe.xml", desk.root / "nfe" / f"{key}-danfe.pdf"

    assert desk.files() == [f"nfe/{key}-danfe.pdf", f"nfe/{key}-procNFe.xml"]
    verdict = xmlsec.verify_file(xml, "infNFe")
    assert verdict.ok, verdict.output
    assert valid(PROC_NFE_XSD, xml) == []
    assert xml.read_bytes().startswith(b'<?xml version="1.0" encoding="UTF-8"?><nfeProc')
    assert pdf.read_bytes().startswith(b"%PDF-")
    text = pdf_text(pdf)
    assert key in re.sub(r"(?<=\d) (?=\d)", "", text), text[:800]
    assert invoice.protocol in text


async def test_an_emission_run_again_writes_nothing_new(desk: Desk) -> None:
    first = await desk.acts.emit_invoice(sample_request())
    stamps = {p: p.stat().st_mtime_ns for p in desk.root.rglob("*") if p.is_file()}
    contents = {p: p.read_bytes() for p in stamps}

    again = await desk.acts.emit_invoice(sample_request())  # consults SEFAZ: 100

    assert again.access_key == first.access_key
    assert len(desk.world.authorisations()) == 1
    assert {p: p.stat().st_mtime_ns for p in stamps} == stamps
    assert {p: p.read_bytes() for p in stamps} == contents
    assert len(desk.files()) == 2


async def test_a_cancelled_nfe_leaves_its_proceventonfe_that_checks_out(desk: Desk) -> None:
    invoice = await desk.acts.emit_invoice(sample_request())

    result = await desk.acts.cancel_invoice(cancellation(invoice))
    await desk.acts.cancel_invoice(cancellation(invoice))  # a rerun: already cancelled

    assert result.status is InvoiceStatus.CANCELLED
    key = invoice.access_key
    name = f"events/{key}-110111-1-procEventoNFe.xml"
    assert name in desk.files()
    path = desk.root / name
    verdict = xmlsec.verify_file(path, "infEvento")
    assert verdict.ok, verdict.output
    assert valid(PROC_EVENT_XSD, path) == []
    proc = etree.parse(str(path)).getroot()
    n = {"n": "http://www.portalfiscal.inf.br/nfe"}
    assert proc.tag == "{http://www.portalfiscal.inf.br/nfe}procEventoNFe"
    assert proc.findtext("n:retEvento/n:infEvento/n:cStat", namespaces=n) == "135"
    assert proc.findtext("n:retEvento/n:infEvento/n:nProt", namespaces=n) == result.protocol
    assert "soap" not in path.read_text()


async def test_a_cancellation_whose_answer_was_lost_still_leaves_its_event(desk: Desk) -> None:
    invoice = await desk.acts.emit_invoice(sample_request())
    desk.world.state.faults.set("sefaz", FaultConfig(lost_response_rate=1.0))
    with pytest.raises(ProviderUnavailable):
        await desk.acts.cancel_invoice(cancellation(invoice))
    desk.world.state.faults.set("sefaz", FaultConfig())

    await desk.acts.cancel_invoice(cancellation(invoice))

    path = desk.root / "events" / f"{invoice.access_key}-110111-1-procEventoNFe.xml"
    verdict = xmlsec.verify_file(path, "infEvento")
    assert verdict.ok, verdict.output


async def test_a_correction_letter_leaves_its_proceventonfe_that_checks_out(desk: Desk) -> None:
    invoice = await desk.acts.emit_invoice(sample_request())
    at = invoice.authorised_at + timedelta(hours=2)
    desk.world.state.clock = lambda: at + timedelta(seconds=1)
    request = CorrectionRequest(
        order_id=invoice.order_id,
        access_key=invoice.access_key,
        sequence=1,
        text="Endereco de entrega: apartamento 42, bloco B, portaria pela rua lateral",
        requested_at=at,
    )

    result = await desk.lifecycle.send_invoice_correction(request)

    assert result.status is CorrectionStatus.REGISTERED
    path = desk.root / "events" / f"{invoice.access_key}-110110-1-procEventoNFe.xml"
    verdict = xmlsec.verify_file(path, "infEvento")
    assert verdict.ok, verdict.output
    assert valid(PROC_CCE_XSD, path) == []


async def test_a_return_nfe_leaves_its_procnfe_and_danfe(desk: Desk) -> None:
    request = sample_request(state="BA")
    paid = PrepareInvoice(order_id=request.order_id, paid_at=request.issued_at)
    assert await desk.acts.prepare_invoice(paid) == request.number  # the sale's number
    sale = await desk.acts.emit_invoice(request)
    at = sale.authorised_at + timedelta(hours=30)
    desk.world.state.clock = lambda: at + timedelta(seconds=5)
    undo = ReturnInvoiceRequest(
        order_id=sale.order_id,
        refers_to=sale.access_key,
        reason="Pedido cancelado apos o prazo de cancelamento",
        issued_at=at,
        idempotency_key="return-1",
    )

    returned = await desk.lifecycle.emit_return_invoice(undo)
    await desk.lifecycle.emit_return_invoice(undo)  # a rerun: recorded, nothing new

    key = returned.access_key
    xml, pdf = desk.root / "nfe" / f"{key}-procNFe.xml", desk.root / "nfe" / f"{key}-danfe.pdf"
    verdict = xmlsec.verify_file(xml, "infNFe")
    assert verdict.ok, verdict.output
    assert valid(PROC_NFE_XSD, xml) == []
    assert key in re.sub(r"(?<=\d) (?=\d)", "", pdf_text(pdf))
    assert len([f for f in desk.files() if f.startswith("nfe/")]) == 4  # sale and return
