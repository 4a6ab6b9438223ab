"""One Chromium per `rpa` worker process, a fresh browser context per task (no cookies
or storage shared between bookings), at most `size` tasks at once.

The system's Chromium is preferred (`/usr/bin/chromium`); Playwright's own build is the
fallback (`playwright install chromium`, which needs the internet). Nothing is
downloaded at run time."""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from pathlib import Path
from typing import Any

from playwright.async_api import Browser, BrowserContext, async_playwright

from domain.errors import ProviderUnavailable

SYSTEM_CHROMIUMS = (Path("/usr/bin/chromium"), Path("/usr/bin/chromium-browser"))
# As root (containers, CI) Chromium needs --no-sandbox; the rest keeps it off the network
# it cannot reach here (background updates, sync) and off the GPU.
CHROMIUM_ARGS = (
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
)


def chromium_path(configured: str = "", fallback: str = "") -> str:
    for candidate in (configured, *map(str, SYSTEM_CHROMIUMS), fallback):
        if candidate and Path(candidate).exists():
            return candidate
    raise ProviderUnavailable(
        "no Chromium found: install the distribution's chromium package "
        "(scripts/install-chromium.sh) or run `playwright install chromium`",
        provider="browser",
    )


def chromium_args() -> list[str]:
    root = hasattr(os, "geteuid") and os.geteuid() == 0
    return [*(("--no-sandbox",) if root else ()), *CHROMIUM_ARGS]


class BrowserPool:
    def __init__(self, browser: Browser, size: int) -> None:
        if size < 1:
            raise ValueError("a browser pool needs at least one slot")
        self.size = size
        self._browser = browser
        self._slots = asyncio.Semaphore(size)
        self.in_use = 0
        self.most_in_use = 0

    @classmethod
    async def launch(cls, stack: AsyncExitStack, size: int, executable: str = "") -> BrowserPool:
        """Start Playwright and Chromium for this process; both stop with `stack`."""
        playwright = await stack.enter_async_context(async_playwright())
        path = chromium_path(executable, playwright.chromium.executable_path)
        browser = await playwright.chromium.launch(
            executable_path=path, args=chromium_args(), headless=True
        )
        stack.push_async_callback(browser.close)
        return cls(browser, size)

    @asynccontextmanager
    async def context(
        self, storage_state: dict[str, Any] | None = None
    ) -> AsyncIterator[BrowserContext]:
        """A fresh context for one task (with the cookies of `storage_state`, e.g. a
        portal's login session); waits for a free slot."""
        async with self._slots:
            context = await self._browser.new_context(
                storage_state=storage_state,  # type: ignore[arg-type]
                locale="pt-BR",
                accept_downloads=True,
            )
            self.in_use += 1
            self.most_in_use = max(self.most_in_use, self.in_use)
            try:
                yield context
            finally:
                self.in_use -= 1
                await context.close()
