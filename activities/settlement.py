"""Settlement reports from a seller portal (a channel whose report has no API).

On the `rpa` queue, `download_settlement_report` has the bot download a channel's report
of a day into the documents directory and answers a reference (path, sha256, lines): the
CSV never enters a history. On the `finance` queue, `night_report` builds the night's
report for the matching engine from the sources: the provider's API for the channels it
covers, each portal report (checked against its sha256) for its channel."""

from __future__ import annotations

import asyncio
import json
from datetime import date
from pathlib import Path

from temporalio import activity

from activities.portal import beat
from domain.errors import ProviderRejected
from domain.orders import Channel
from domain.reconciliation import PORTAL_CHANNELS, PortalReport, SettlementDownload
from integrations.documents.settlement import SettlementDocuments
from integrations.finance.report_sources import ReportPart, assemble_report
from integrations.payments.client import PaymentsClient, release_report_name
from integrations.portals.bot import PortalError
from integrations.portals.seller_portal import PROVIDER, SellerPortalBot
from workflows import steps
from workflows.steps import implements

SOURCES_FILE = "sources.json"  # beside the night's report: where each channel's lines came from


class SettlementActivities:
    def __init__(self, bot: SellerPortalBot, documents: SettlementDocuments) -> None:
        self._bot = bot
        self._documents = documents

    @implements(steps.DOWNLOAD_SETTLEMENT_REPORT)
    async def download_settlement_report(self, request: SettlementDownload) -> PortalReport:
        if request.channel not in PORTAL_CHANNELS:
            raise ProviderRejected(
                f"no seller portal bot knows channel {request.channel!r} (known: "
                f"{', '.join(sorted(PORTAL_CHANNELS))}): set its report source to api",
                provider=PROVIDER,
                code="unknown_portal_channel",
            )
        target = self._documents.report_path(request.channel, request.day)
        try:
            got = await self._bot.release_report(request.day, target, beat)
        except PortalError as exc:
            attempt = activity.info().attempt if activity.in_activity() else 1
            for kind, data in exc.artifacts.items():
                await self._documents.put_failure(request.channel, request.day, attempt, kind, data)
            raise
        return PortalReport(
            channel=request.channel, day=request.day,
            path=self._documents.relative(request.channel, request.day),
            sha256=got.sha256, lines=got.lines, size=got.size,
        )  # fmt: skip


async def night_report(
    payments: PaymentsClient,
    documents: SettlementDocuments | None,
    day: date,
    folder: Path,
    reports: list[PortalReport],
) -> Path:
    """The night's release report in `folder`: each portal channel's lines from its
    report, every other channel's from the provider's API (not asked when no channel is
    left to it)."""
    if documents is None:
        raise ProviderRejected(
            "this finance worker has no documents directory to read the portal's reports from",
            provider=PROVIDER,
        )
    portal = frozenset(r.channel for r in reports)
    await asyncio.to_thread(folder.mkdir, parents=True, exist_ok=True)
    parts: list[ReportPart] = []
    sources: dict[str, object] = {}
    if any(c.value not in portal for c in Channel):
        api = await payments.release_report(day, folder / "api")
        parts.append(ReportPart(api, excluding=portal))
        sources["api"] = {"path": f"api/{api.name}", "excluding": sorted(portal)}
    for report in sorted(reports, key=lambda r: r.channel):
        path = await asyncio.to_thread(documents.verified, report)
        parts.append(ReportPart(path, only=report.channel, provider=PROVIDER))
        sources[report.channel] = report.model_dump(mode="json")
    out = folder / release_report_name(day)
    lines = await asyncio.to_thread(assemble_report, parts, out)
    sources["lines"] = lines
    text = json.dumps(sources, indent=1) + "\n"
    await asyncio.to_thread((folder / SOURCES_FILE).write_text, text, encoding="utf-8")
    return out
