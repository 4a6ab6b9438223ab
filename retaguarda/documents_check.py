"""`retaguarda documents check`: every file of the document store judged by software
nobody here wrote, as the issue's Done-when asks.

- `nfe/<key>-procNFe.xml`: nfelib's procNFe_v4.00.xsd, the NF-e's signature by xmlsec1
  (verified inside the nfeProc as stored: its first Signature is the NF-e's, and
  `--id-attr:Id infNFe` finds the element it signs), the key in the file name is the
  NF-e's and its protocol's (cStat 100/150), and its DANFE is there.
- `events/<key>-<tpEvento>-<seq>-procEventoNFe.xml`: the procEventoNFe schema of its
  event type (procEventoCancNFe for 110111, procCCeNFe for 110110), the event's
  signature by xmlsec1 (`--id-attr:Id infEvento`), the name matches chNFe, tpEvento and
  nSeqEvento, and SEFAZ registered it (cStat 135/136/155).
- `nfe/<key>-danfe.pdf`: a PDF whose text (pypdf) shows its access key, beside its XML.
- `shipping/<order>/label.pdf` and `packing-slip.pdf`: PDFs pypdf reads, with a page;
  a packing slip beside every label. `portal-<n>-screenshot.png` a PNG and
  `portal-<n>-trace.zip` a zip whose members read back (what a failed portal task left).

Anything else in the store (not hidden temporary files) is reported as unknown.
"""

from __future__ import annotations

import io
import re
import shutil
import subprocess
import zipfile
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

from lxml import etree
from pypdf import PdfReader
from pypdf.errors import PyPdfError

from domain.errors import DomainError
from integrations.documents.shipping import (
    LABEL,
    PACKING_SLIP,
    InvalidShippingDocument,
    parse_store_path,
)
from integrations.documents.store import DocumentKind, DocumentName, InvalidDocumentName
from integrations.fiscal.schema import NFE_NS, NFELIB, XsdValidator

PROC_NFE_XSD = NFELIB / "nfe" / "schemas" / "v4_0" / "procNFe_v4.00.xsd"
EVENT_XSDS = {
    "110111": NFELIB / "nfe_evento_cancel" / "schemas" / "v1_0" / "procEventoCancNFe_v1.00.xsd",
    "110110": NFELIB / "nfe_evento_cce" / "schemas" / "v1_0" / "procCCeNFe_v1.00.xsd",
}
AUTHORISED = {"100", "150"}  # autorizado; autorizado fora de prazo
REGISTERED = {"135", "136", "155"}  # vinculado; não vinculado; cancelamento fora de prazo
SHIPPING_KINDS = {
    LABEL: "label",
    PACKING_SLIP: "packing_slip",
    "screenshot.png": "portal_screenshot",
    "trace.zip": "portal_trace",
}
KINDS = [k.value for k in DocumentKind] + list(SHIPPING_KINDS.values()) + ["unknown"]
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
XMLSEC_TIMEOUT_S = 30
_N = {"n": NFE_NS}
NameCheck = Callable[[DocumentName, etree._Element], list[str]]
_PARSER = etree.XMLParser(resolve_entities=False, no_network=True)


class XmlsecMissing(DomainError):
    """xmlsec1 is not installed: signatures cannot be checked."""


@dataclass(frozen=True)
class FileVerdict:
    path: str  # inside the store, e.g. nfe/<key>-procNFe.xml
    kind: str  # a DocumentKind value, or "unknown"
    problems: tuple[str, ...] = ()

    @property
    def ok(self) -> bool:
        return not self.problems


@dataclass(frozen=True)
class DocumentsReport:
    root: Path
    files: list[FileVerdict] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return all(f.ok for f in self.files)

    @property
    def failures(self) -> list[FileVerdict]:
        return [f for f in self.files if not f.ok]

    def counts(self) -> dict[str, dict[str, int]]:
        """Per kind: files checked and files that failed."""
        out = {kind: {"checked": 0, "failed": 0} for kind in KINDS}
        for f in self.files:
            out[f.kind]["checked"] += 1
            out[f.kind]["failed"] += not f.ok
        return out

    def as_dict(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "root": str(self.root),
            "counts": self.counts(),
            "failures": [
                {"path": f.path, "kind": f.kind, "problems": list(f.problems)}
                for f in self.failures
            ],
        }


def find_xmlsec1() -> str:
    found = shutil.which("xmlsec1")
    if found is None:
        raise XmlsecMissing(
            "xmlsec1 is not installed, so no signature can be checked: install the Debian "
            "package `xmlsec1` (`make install` does it when run as root)",
            code="xmlsec1_missing",
        )
    return found


def check_documents(root: Path, xmlsec1: str | None = None) -> DocumentsReport:
    """Judge every file under `root`, in name order. Raises XmlsecMissing first."""
    checker = _Checker(root, xmlsec1 or find_xmlsec1())
    names = sorted(
        p.relative_to(root).as_posix()
        for p in root.rglob("*")
        if p.is_file() and not p.name.startswith(".")
    )
    return DocumentsReport(root, [checker.check(name) for name in names])


@cache
def _schema(path: Path) -> XsdValidator:
    return XsdValidator(path)


class _Checker:
    def __init__(self, root: Path, xmlsec1: str) -> None:
        self.root, self.xmlsec1 = root, xmlsec1

    def check(self, path: str) -> FileVerdict:
        if path.startswith("shipping/"):
            return self._shipping(path)
        try:
            name = DocumentName.parse(path)
        except InvalidDocumentName:
            return FileVerdict(path, "unknown", ("not a name the document store gives",))
        data = (self.root / path).read_bytes()
        if name.kind is DocumentKind.DANFE:
            problems = self._danfe(name, data)
        elif name.kind is DocumentKind.NFE_XML:
            problems = self._xml(name, data, PROC_NFE_XSD, "infNFe", _nfe_names)
            if not (self.root / "nfe" / f"{name.access_key}-danfe.pdf").is_file():
                problems.append("its DANFE (PDF) is not in the store")
        else:
            xsd = EVENT_XSDS.get(name.event_type or "")
            if xsd is None:
                problems = [f"no procEventoNFe schema known for event type {name.event_type}"]
            else:
                problems = self._xml(name, data, xsd, "infEvento", _event_names)
        return FileVerdict(path, name.kind.value, tuple(problems))

    def _shipping(self, path: str) -> FileVerdict:
        try:
            _, name = parse_store_path(path)
        except InvalidShippingDocument:
            return FileVerdict(path, "unknown", ("not a name the document store gives",))
        kind = SHIPPING_KINDS[name if name.endswith(".pdf") else name.split("-", 2)[2]]
        data = (self.root / path).read_bytes()
        problems: list[str] = []
        if kind == "label" and not (self.root / path).with_name(PACKING_SLIP).is_file():
            problems.append("its packing slip is not in the store")
        if name.endswith(".pdf"):
            problems += _pdf_problems(data)
        elif kind == "portal_screenshot" and not data.startswith(PNG_MAGIC):
            problems.append("not a PNG image")
        elif kind == "portal_trace":
            problems += _zip_problems(data)
        return FileVerdict(path, kind, tuple(problems))

    def _xml(
        self, name: DocumentName, data: bytes, xsd: Path, signed: str, names: NameCheck
    ) -> list[str]:
        try:
            root = etree.fromstring(data, parser=_PARSER)
        except etree.XMLSyntaxError as exc:
            return [f"not well-formed XML: {exc}"]
        problems = [f"XSD {xsd.name}: {e}" for e in _schema(xsd).errors(data)[:5]]
        problems += names(name, root)
        problems += self._signature(name, signed)
        return problems

    def _signature(self, name: DocumentName, signed: str) -> list[str]:
        path = self.root / name.path
        run = subprocess.run(
            [self.xmlsec1, "--verify", "--insecure", "--id-attr:Id", signed, str(path)],
            capture_output=True,
            text=True,
            timeout=XMLSEC_TIMEOUT_S,
            check=False,
        )
        if run.returncode == 0:
            return []
        return [f"signature of {signed} does not verify with xmlsec1: {_why(run.stderr)}"]

    def _danfe(self, name: DocumentName, data: bytes) -> list[str]:
        problems = []
        if not (self.root / "nfe" / f"{name.access_key}-procNFe.xml").is_file():
            problems.append("its NF-e XML (procNFe) is not in the store")
        if not data.startswith(b"%PDF-"):
            return [*problems, "not a PDF"]
        try:
            text = "".join(page.extract_text() for page in PdfReader(io.BytesIO(data)).pages)
        except (PyPdfError, ValueError, KeyError) as exc:
            return [*problems, f"pypdf cannot read it: {type(exc).__name__}: {exc}"]
        if name.access_key not in re.sub(r"(?<=\d)\s+(?=\d)", "", text):
            problems.append(f"its text does not show its access key {name.access_key}")
        return problems


def _pdf_problems(data: bytes) -> list[str]:
    if not data.startswith(b"%PDF-"):
        return ["not a PDF"]
    try:
        pages = len(PdfReader(io.BytesIO(data)).pages)
    except (PyPdfError, ValueError, KeyError) as exc:
        return [f"pypdf cannot read it: {type(exc).__name__}: {exc}"]
    return [] if pages else ["a PDF without a page"]


def _zip_problems(data: bytes) -> list[str]:
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            broken = archive.testzip()
    except (zipfile.BadZipFile, EOFError) as exc:
        return [f"not a zip archive: {exc}"]
    return [f"its member {broken} does not read back"] if broken else []


def _nfe_names(name: DocumentName, root: etree._Element) -> list[str]:
    problems = []
    if root.tag != f"{{{NFE_NS}}}nfeProc":
        return [f"the root element is {root.tag}, not nfeProc"]
    signed_id = root.xpath("string(n:NFe/n:infNFe/@Id)", namespaces=_N)
    if signed_id != f"NFe{name.access_key}":
        problems.append(f"the file is named for {name.access_key} but holds NF-e {signed_id!r}")
    if root.findtext("n:protNFe/n:infProt/n:chNFe", namespaces=_N) != name.access_key:
        problems.append("its protNFe is for another access key")
    status = root.findtext("n:protNFe/n:infProt/n:cStat", namespaces=_N)
    if status not in AUTHORISED:
        problems.append(f"its protNFe says cStat {status}, not an authorisation (100/150)")
    return problems


def _event_names(name: DocumentName, root: etree._Element) -> list[str]:
    if root.tag != f"{{{NFE_NS}}}procEventoNFe":
        return [f"the root element is {root.tag}, not procEventoNFe"]
    problems = []
    info = "n:evento/n:infEvento/n:"
    held = tuple(root.findtext(info + tag, namespaces=_N) for tag in ("chNFe", "tpEvento"))
    sequence = root.findtext(info + "nSeqEvento", namespaces=_N)
    expected = (name.access_key, name.event_type)
    if held != expected or sequence != str(name.sequence):
        problems.append(
            f"the file is named for {'/'.join(map(str, (*expected, name.sequence)))} but "
            f"holds the event {'/'.join(map(str, (*held, sequence)))}"
        )
    status = root.findtext("n:retEvento/n:infEvento/n:cStat", namespaces=_N)
    if status not in REGISTERED:
        problems.append(f"its retEvento says cStat {status}, not a registration (135/136/155)")
    return problems


def _why(said: str) -> str:
    """xmlsec1's reason, in a phrase: its error lines are OpenSSL's internals."""
    if "digest do not match" in said:
        return "the signed content changed after signing (its digest does not match)"
    if "signature do not match" in said or "signature verification failed" in said:
        return "the signature value does not match the signed content and certificate"
    reasons = re.findall(r"error=\d+:([^:\n]+)", said)
    return "; ".join(dict.fromkeys(reasons))[:300] or " ".join(said.split())[:300]
