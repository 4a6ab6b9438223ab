"""What every portal bot shares: the login session kept between tasks, a fresh browser
context per task from the worker's pool, and on failure the page's screenshot and a
Playwright trace carried by the error (`PortalError.artifacts`) for the activity to keep.

The bots themselves (`carrier_portal.py`, `seller_portal.py`) know their portal's pages,
wordings and errors; credentials are handed in by the worker's composition root and only
typed into the page: never logged, never in a history."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from tempfile import TemporaryDirectory
from typing import Any

from playwright.async_api import Error as PlaywrightError
from playwright.async_api import Page

from domain.errors import ProviderError, ProviderRejected, ProviderUnavailable
from integrations.portals.browser import BrowserPool

Beat = Callable[[str], None]


class PortalError(ProviderUnavailable):
    """The portal did not do what the bot needed (retryable: maintenance, a page that
    never loaded, an expired session mid-form); `artifacts` holds the screenshot (PNG)
    and the trace (zip) of the attempt, when they could be taken."""

    def __init__(self, message: str, *, provider: str, code: str = "portal_unavailable") -> None:
        super().__init__(message, provider=provider, code=code)
        self.artifacts: dict[str, bytes] = {}


class PortalBot:
    """A bot on one portal: `_task` gives a page in a fresh context with the kept login."""

    PROVIDER = "portal"
    TITLE = "the portal"  # as the bot's messages name it

    def __init__(
        self,
        pool: BrowserPool,
        base_url: str,
        username: str,
        password: str,
        *,
        timeout_s: float = 15.0,
        trace: bool = True,
    ) -> None:
        self._pool = pool
        self._base = base_url.rstrip("/")
        self._username = username
        self._password = password
        self._timeout_ms = timeout_s * 1000
        self._trace = trace
        self._session: dict[str, Any] | None = None  # the login cookies, reused
        self.logins = 0

    @property
    def session(self) -> dict[str, Any] | None:
        """The portal login kept between tasks (cookies), None before the first login."""
        return self._session

    @session.setter
    def session(self, state: dict[str, Any] | None) -> None:
        self._session = state

    @asynccontextmanager
    async def _task(self, beat: Beat, what: str) -> AsyncIterator[Page]:
        """A fresh context with the kept session; on failure, screenshot and trace."""
        async with self._pool.context(self._session) as context:
            context.set_default_timeout(self._timeout_ms)
            if self._trace:
                await context.tracing.start(snapshots=True, screenshots=False)
            page = await context.new_page()
            beat(what)
            try:
                yield page
            except (ProviderError, PlaywrightError) as exc:
                error = exc if isinstance(exc, ProviderError) else self._translate(exc, what)
                if isinstance(error, PortalError):
                    error.artifacts = await self._artifacts(page)
                if error is exc:
                    raise
                raise error from exc
            finally:
                if self._trace and context.tracing:
                    try:
                        await context.tracing.stop()
                    except PlaywrightError:
                        pass

    # ------------------------------------------------------------------ pages
    USER_LABEL: str | re.Pattern[str] = "Usuário"  # the login form's user field
    SECRETS = "PORTAL"  # RETAGUARDA_SECRETS__<SECRETS>_USERNAME / _PASSWORD

    async def _open(self, page: Page, path: str, beat: Beat) -> None:
        """Go to `path`, logging in first when the portal asks for it."""
        response = await page.goto(f"{self._base}{path}")
        await self._check(page, response.status if response else 200)
        if self._at_login(page):
            await self._login(page, beat)
            await self._check(page, 200)
        beat(path)

    async def _check(self, page: Page, status: int) -> None:
        """Raise what the page says went wrong (maintenance, a server error)."""
        raise NotImplementedError

    def _at_login(self, page: Page) -> bool:
        return page.url.startswith(f"{self._base}/login")

    async def _login(self, page: Page, beat: Beat) -> None:
        """Log in with the settings' credentials (typed into the page only) and keep the
        session for the next tasks; a refused login is final: retrying cannot fix it."""
        beat("login")
        await page.get_by_label(self.USER_LABEL).fill(self._username)
        await page.get_by_label("Senha").fill(self._password)
        await self._check(page, await self._click(page, "Entrar"))
        if self._at_login(page) or await page.get_by_role("alert").count():
            raise ProviderRejected(
                f"{self.TITLE} refused our login: check RETAGUARDA_SECRETS__"
                f"{self.SECRETS}_USERNAME and _PASSWORD",
                provider=self.PROVIDER,
                code="login_refused",
            )
        self.logins += 1
        self._session = dict(await page.context.storage_state())

    def _translate(self, exc: PlaywrightError, what: str) -> ProviderError:
        """A Playwright failure (timeout, element not found) as a retryable portal error:
        a slow page or a layout the bot does not know yet; ops see it past the deadline."""
        first = (exc.message or str(exc)).splitlines()[0][:300]
        return PortalError(
            f"{self.TITLE} bot could not {what}: {first}", provider=self.PROVIDER,
            code="page_failed",
        )  # fmt: skip

    async def _artifacts(self, page: Page) -> dict[str, bytes]:
        found: dict[str, bytes] = {}
        try:
            found["screenshot.png"] = await page.screenshot(full_page=True)
        except PlaywrightError:
            pass
        if self._trace:
            with TemporaryDirectory() as tmp:
                path = Path(tmp) / "trace.zip"
                try:
                    await page.context.tracing.stop(path=str(path))
                    found["trace.zip"] = path.read_bytes()
                except PlaywrightError:
                    pass
        return found

    @staticmethod
    async def _click(page: Page, button: str | re.Pattern[str]) -> int:
        """Press a button that sends a form and wait for the page it leads to (listening
        before the click, so the old page is never read as the new one): its status."""
        async with page.expect_navigation(wait_until="domcontentloaded") as navigation:
            await page.get_by_role("button", name=button).click()
        response = await navigation.value
        return response.status if response else 200

    @staticmethod
    async def _heading(page: Page) -> str:
        try:
            return (await page.get_by_role("heading", level=1).inner_text(timeout=5000)).strip()
        except PlaywrightError:
            return ""
