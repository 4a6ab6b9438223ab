"""`retaguarda bench portal`: pickups booked per minute on the sandbox carrier portal by
the `rpa` bot, with one Chromium reused for every booking (a fresh context each, as the
worker runs) against launching a Chromium per booking.

Method: the sandbox runs in its own process (`retaguarda sandbox`, free port, its own var
dir, no faults), so the portal's work is not on the bot's event loop. Each booking is the
bot's whole task: search by reference, open the form, fill it, send it, read the
confirmation, download the label PDF. `concurrency` bookings run at once (the worker's
pool size); the login session is kept by the bot in both modes, so the only difference is
the browser. A warm-up booking per mode is not counted."""

from __future__ import annotations

import asyncio
import sys
import tempfile
import time
from contextlib import AsyncExitStack
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx

from config.settings import Settings
from domain.freight import BookingRequest, CarrierKind, FreightQuote, Parcel
from domain.orders import Address
from integrations.portals.browser import BrowserPool, chromium_path
from integrations.portals.carrier_portal import CarrierPortalBot
from retaguarda.bench.processes import free_port
from retaguarda.stack import Stack, wait_for_http

USER, PASSWORD = "bench", "bench-portal-password"


def request(n: int, run: str) -> BookingRequest:
    order_id = f"order:store:bench-{run}-{n:05d}"
    return BookingRequest(
        order_id=order_id,
        idempotency_key=f"{order_id}:booking",
        quote=FreightQuote(service_id=1, carrier="Expresso Serra", service="Rodoviário",
                           price=Decimal("15.00"), delivery_days=4, kind=CarrierKind.PORTAL),
        parcel=Parcel(weight_g=1200, height_cm=10, width_cm=20, length_cm=30,
                      declared_value=Decimal("89.90")),
        recipient_name="Maria Souza",
        recipient_address=Address(street="Rua das Flores", number="10", district="Centro",
                                  city="Campinas", state="SP", postal_code="13010000"),
        recipient_document="52998224725",
        recipient_phone="19999990000",
    )  # fmt: skip


async def _run(bot: CarrierPortalBot, run: str, count: int, width: int) -> float:
    """Seconds to book `count` pickups, `width` at a time."""
    queue = list(range(count))
    started = time.perf_counter()

    async def lane() -> None:
        while queue:
            n = queue.pop()
            booked = await bot.book(request(n, run))
            if booked.found:
                raise RuntimeError(f"booking {n} was found, not made: the run ids collide")

    await asyncio.gather(*(lane() for _ in range(width)))
    return time.perf_counter() - started


async def _bench(url: str, bookings: int, concurrency: int, trace: bool) -> dict[str, Any]:
    run = str(int(time.time()))
    executable = chromium_path()
    results: dict[str, Any] = {}
    async with AsyncExitStack() as stack:
        launched = time.perf_counter()
        pool = await BrowserPool.launch(stack, concurrency, executable)
        results["launch_s"] = round(time.perf_counter() - launched, 3)
        bot = CarrierPortalBot(pool, f"{url}/portal", USER, PASSWORD,
                               origin_postal_code="01304001", trace=trace)  # fmt: skip
        await bot.book(request(0, f"{run}w"))  # warm-up: login, first pages
        took = await _run(bot, f"{run}r", bookings, concurrency)
        results["per_min_reused"] = round(bookings / took * 60, 1)
        results["reused_s_per_booking"] = round(took / bookings, 3)
        session = bot.session

    async def launch_each(n: int) -> None:
        async with AsyncExitStack() as own:
            pool = await BrowserPool.launch(own, 1, executable)
            bot = CarrierPortalBot(pool, f"{url}/portal", USER, PASSWORD,
                                   origin_postal_code="01304001", trace=trace)  # fmt: skip
            bot.session = session  # the login is not what is measured
            await bot.book(request(n, f"{run}l"))

    started = time.perf_counter()
    queue = list(range(bookings))

    async def lane() -> None:
        while queue:
            await launch_each(queue.pop())

    await asyncio.gather(*(lane() for _ in range(concurrency)))
    took = time.perf_counter() - started
    results["per_min_launch"] = round(bookings / took * 60, 1)
    results["launch_s_per_booking"] = round(took / bookings, 3)
    results["speedup"] = round(results["per_min_reused"] / results["per_min_launch"], 2)
    return results


def run_portal_bench(
    settings: Settings, *, bookings: int = 60, concurrency: int = 2, trace: bool = True
) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="bench-portal-") as tmp:
        port = free_port()
        env = {
            "RETAGUARDA_VAR_DIR": str(Path(tmp)),
            "RETAGUARDA_SANDBOX__PORT": str(port),
            "RETAGUARDA_SANDBOX__FAULT_RATE": "0",
            "RETAGUARDA_SECRETS__CARRIER_PORTAL_USERNAME": USER,
            "RETAGUARDA_SECRETS__CARRIER_PORTAL_PASSWORD": PASSWORD,
            "RETAGUARDA_SANDBOX__CARRIER_STEP_S": "3600",
        }
        stack = Stack(settings.model_copy(update={"var_dir": Path(tmp)}), env=env)
        try:
            stack._spawn("sandbox", [sys.executable, "-m", "retaguarda", "sandbox"])
            url = f"http://127.0.0.1:{port}"
            wait_for_http(f"{url}/health", "sandbox", stack)
            result = asyncio.run(_bench(url, bookings, concurrency, trace))
            with httpx.Client(timeout=10) as http:
                booked = len(http.get(f"{url}/portal/admin/pickups").json())
        finally:
            stack.stop()
    expected = 2 * bookings + 1
    return {
        "bookings": bookings,
        "concurrency": concurrency,
        "trace": trace,
        **result,
        "pickups_booked": booked,
        "all_booked_once": booked == expected,
    }
