"""The settlement reports the `rpa` bot downloads from a seller portal, kept under
`<documents dir>/settlement/<channel>/<day>/`: the report (`release-report-<day>.csv`) and
what a failed attempt left behind (`portal-<n>-screenshot.png`, `portal-<n>-trace.zip`).

A report is named by the channel and the day only, so a second download of a night
replaces it (with the same bytes: the night is over) and an activity answers a reference
(the path relative to the documents directory, sha256, lines), never the CSV. The finance
worker finds it by that path under its own documents directory and checks the sha256
before it reads a line: both workers must share the directory (the embedded stack and one
host do; separate hosts mount it)."""

from __future__ import annotations

import asyncio
import hashlib
import re
from datetime import date
from pathlib import Path, PurePosixPath

from domain.errors import DomainError, ProviderRejected
from domain.reconciliation import PortalReport
from integrations.documents.shipping import _write_once, failure_names

_CHANNEL = re.compile(r"^[a-z][a-z0-9_-]{0,39}$")


class InvalidSettlementDocument(DomainError):
    def __init__(self, message: str) -> None:
        super().__init__(message, code="invalid_document_name")


class SettlementDocuments:
    def __init__(self, root: Path) -> None:
        self.root = root
        self.base = root / "settlement"

    def relative(self, channel: str, day: date) -> str:
        if not _CHANNEL.fullmatch(channel):
            raise InvalidSettlementDocument(f"not a channel name: {channel[:40]!r}")
        return f"settlement/{channel}/{day.isoformat()}/release-report-{day.isoformat()}.csv"

    def report_path(self, channel: str, day: date) -> Path:
        return self.root / self.relative(channel, day)

    async def put_failure(
        self, channel: str, day: date, attempt: int, kind: str, data: bytes
    ) -> str:
        """Keep a failed attempt's screenshot or trace (written once, like the order's)."""
        name = failure_names(attempt).get(kind)
        if name is None:
            raise InvalidSettlementDocument(f"no failure document is a {kind[:40]!r}")
        relative = str(PurePosixPath(self.relative(channel, day)).with_name(name))
        await asyncio.to_thread(_write_once, self.root / relative, data)
        return relative

    def verified(self, report: PortalReport) -> Path:
        """The file `report` names, after checking it is the one the bot downloaded."""
        expected = self.relative(report.channel, report.day)
        if report.path != expected:
            raise InvalidSettlementDocument(
                f"a portal report is kept at {expected}, not {report.path[:200]!r}"
            )
        path = self.root / expected
        if not path.is_file():
            raise ProviderRejected(
                f"the {report.channel} report of {report.day} the rpa bot downloaded is not at "
                f"{path}: the rpa and finance workers must share the documents directory "
                "(RETAGUARDA_DOCUMENTS__DIR); reconcile the night again",
                provider="seller_portal",
                code="report_not_found",
            )
        digest = hashlib.sha256()
        with path.open("rb") as fh:
            for chunk in iter(lambda: fh.read(1 << 20), b""):
                digest.update(chunk)
        if digest.hexdigest() != report.sha256:
            raise ProviderRejected(
                f"the {report.channel} report of {report.day} at {path} changed since the bot "
                f"downloaded it (sha256 {digest.hexdigest()[:12]}…, expected "
                f"{report.sha256[:12]}…): reconcile the night again",
                provider="seller_portal",
                code="report_changed",
            )
        return path
