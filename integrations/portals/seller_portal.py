"""The bot for the marketplace's seller centre (a website with no API, the sandbox's
"Central do Vendedor"): log in, filter the release reports by date, download the day's
CSV with Playwright's download API. Playwright in the `rpa` worker's one Chromium, a
fresh context per task, the login session kept between tasks until the portal sends the
bot back to its login page (`PortalBot`).

The download is checked before it is kept: the line count the page states must be the
file's (a download cut short is retried), and the header must be the provider's columns
(a different file is refused). Selectors are roles, labels and text."""

from __future__ import annotations

import asyncio
import hashlib
import re
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from playwright.async_api import Page

from domain.errors import ProviderRejected
from integrations.finance.marketplace_match import check_report_header
from integrations.portals.bot import Beat, PortalBot, PortalError

PROVIDER = "seller_portal"
REPORTS = "/relatorios/liberacoes"
USER_LABEL = re.compile(r"(e-mail|usu[aá]rio)", re.IGNORECASE)
DATE_LABEL = re.compile(r"^data (das|de) libera[cç](ões|ão)$", re.IGNORECASE)
GENERATE = re.compile(r"^(gerar|filtrar|buscar)( relat[oó]rio)?$", re.IGNORECASE)
DOWNLOAD = re.compile(r"^baixar relat[oó]rio", re.IGNORECASE)
STATED_LINES = re.compile(r"Lan[cç]amentos:\s*(\d+)")


class SellerPortalError(PortalError):
    """The seller portal did not do what the bot needed (retryable)."""

    def __init__(self, message: str, *, code: str = "portal_unavailable") -> None:
        super().__init__(message, provider=PROVIDER, code=code)


@dataclass(frozen=True)
class DownloadedReport:
    path: Path
    sha256: str
    lines: int  # after the header
    size: int


class SellerPortalBot(PortalBot):
    PROVIDER = PROVIDER
    TITLE = "the seller portal"
    USER_LABEL = USER_LABEL
    SECRETS = "SELLER_PORTAL"

    async def release_report(
        self, day: date, target: Path, beat: Beat = lambda _: None
    ) -> DownloadedReport:
        """Download the release report of `day` to `target` (atomically: a reader never
        sees half a file; a second download of the day replaces it with the same bytes)."""
        async with self._task(beat, "download the release report") as page:
            for _round in range(3):  # a session that expires between pages costs a round
                await self._open(page, REPORTS, beat)
                await page.get_by_label(DATE_LABEL).fill(day.isoformat())
                status = await self._click(page, GENERATE)
                if self._at_login(page):
                    await self._login(page, beat)
                    continue
                await self._check(page, status)
                break
            else:
                raise SellerPortalError("the seller portal's session kept expiring")
            beat("filtered")
            stated = await self._stated_lines(page, day)
            async with page.expect_download() as started:
                await page.get_by_role("link", name=DOWNLOAD).click()
            download = await started.value
            partial = target.with_name(f".{target.name}.partial")
            await asyncio.to_thread(target.parent.mkdir, parents=True, exist_ok=True)
            await download.save_as(partial)
            beat("downloaded")
            return await asyncio.to_thread(_checked, partial, target, stated)

    async def _check(self, page: Page, status: int) -> None:
        heading = await self._heading(page)
        if status == 503 or heading == "Sistema em manutenção":
            raise SellerPortalError("the seller portal is under maintenance", code="maintenance")
        if status >= 500:
            raise SellerPortalError(f"the seller portal answered {status} ({heading})")
        if status == 422 and await page.get_by_role("alert").count():
            said = (await page.get_by_role("alert").first.inner_text()).strip()[:200]
            raise ProviderRejected(
                f"the seller portal refused the report's date: {said}", provider=PROVIDER,
                code="date_refused",
            )  # fmt: skip

    async def _stated_lines(self, page: Page, day: date) -> int:
        text = await page.get_by_role("main").inner_text()
        found = STATED_LINES.search(text)
        if found is None:
            raise SellerPortalError(
                f"the reports page shows no report for {day.isoformat()} (no line count)",
                code="page_failed",
            )
        return int(found[1])


def _checked(partial: Path, target: Path, stated: int) -> DownloadedReport:
    """The downloaded file, checked (header, line count) and moved into place."""
    try:
        check_report_header(partial, provider=PROVIDER)
        digest = hashlib.sha256()
        lines, last = -1, b"\n"
        with partial.open("rb") as fh:
            for chunk in iter(lambda: fh.read(1 << 20), b""):
                digest.update(chunk)
                lines += chunk.count(b"\n")
                last = chunk[-1:]
        lines += last != b"\n"  # a last line without its newline
        size = partial.stat().st_size
        if lines != stated:
            raise SellerPortalError(
                f"the report downloaded has {lines} lines, the portal said {stated}: "
                "the download was cut short",
                code="download_incomplete",
            )
        partial.replace(target)
    finally:
        partial.unlink(missing_ok=True)
    return DownloadedReport(target, digest.hexdigest(), lines, size)
