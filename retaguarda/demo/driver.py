"""`retaguarda demo`: seed the world, place orders on the channels, let the robot work,
wait until every order is terminal, summarise."""

from __future__ import annotations

import asyncio
import random
import time
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

import httpx
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from config.settings import Settings
from domain.station import LOCAL_TZ
from retaguarda.demo.robot import WarehouseRobot
from retaguarda.demo.world import (
    AFTER_INVOICE,
    FISCAL,
    PRODUCTS,
    DemoOrder,
    demo_lots,
    make_orders,
    marketplace_payload,
    store_payload,
)
from retaguarda.stack import is_up, running_stack
from sandbox.core import PROVIDERS, FaultConfig

# Durations for a demo that runs in minutes (the stack the demo starts uses them).
DEMO_ENV = {
    "RETAGUARDA_DURATIONS__PAYMENT_WINDOW_S": "20",
    # the NF-e's 24 h cancellation window (the demo issuer's state, SP), compressed to
    # 30 s: a cancellation later than that is undone by a return NF-e
    "RETAGUARDA_FISCAL__CANCEL_WINDOW_H__SP": str(30 / 3600),
    "RETAGUARDA_DURATIONS__DELIVERY_WINDOW_S": "900",
    "RETAGUARDA_DURATIONS__LATE_PAYMENT_GRACE_S": "30",
    "RETAGUARDA_SANDBOX__CARRIER_STEP_S": "1.0",
    "RETAGUARDA_DURATIONS__TRACKING_POLL_S": "5",
}
TERMINAL = {"delivered", "cancelled"}
PHASES = {
    "reserve": ("received", "reserved"),
    "payment": ("reserved", "paid"),
    "invoice": ("paid", "invoiced"),
    "warehouse": ("picking", "checked"),
    "ship": ("checked", "shipped"),
    "delivery": ("shipped", "delivered"),
    "total": ("received", "delivered"),
}


def run_demo_cli(
    settings: Settings, *, orders: int, faults: float, seed: int, timeout: float = 900
) -> dict[str, Any]:
    """Use the running stack, or start the embedded one (and stop it afterwards)."""
    if is_up(settings):
        return run_demo(settings, orders=orders, faults=faults, seed=seed, timeout=timeout)
    env = {"RETAGUARDA_SANDBOX__SEED": str(seed), "RETAGUARDA_SANDBOX__FAULT_RATE": str(faults)}
    Console(stderr=True).print("starting the embedded stack for the demo…")
    with running_stack(settings, env, defaults=DEMO_ENV):
        return run_demo(settings, orders=orders, faults=faults, seed=seed, timeout=timeout)


def run_demo(
    settings: Settings,
    *,
    orders: int,
    faults: float,
    seed: int,
    timeout: float = 900,
) -> dict[str, Any]:
    return asyncio.run(drive_demo(settings, orders, faults, seed, limit_s=timeout))


Watch = Callable[[int, int], Awaitable[None]]


@dataclass(frozen=True)
class Pace:
    """The demo world's tempo."""

    all_paid: bool = False  # every order paid at once (no unpaid or cancelled fates)
    place_gap_s: tuple[float, float] = (0.01, 0.08)  # between two orders placed
    robot_interval_s: float = 0.3  # how often the warehouse robot looks for tasks
    mistake_rate: float = 0.05  # the robot's wrong first scan at the check
    poll_s: float = 1.0  # how often progress is read


async def drive_demo(
    settings: Settings,
    count: int,
    faults: float,
    seed: int,
    limit_s: float,
    watch: Watch | None = None,
    *,
    pace: Pace | None = None,
) -> dict[str, Any]:
    """Drive the demo world on a running stack until every order is terminal (or
    `limit_s`); `watch(terminal, total)` is awaited after every progress poll. `pace`
    changes the world's tempo (the pipeline benchmark: every order paid at once, placed
    back to back, an instant robot)."""
    pace = pace or Pace()
    rng = random.Random(seed)
    run = str(int(time.time() * 10) % 10**9)
    key = settings.secrets.bootstrap_admin_key.get_secret_value()
    api = httpx.AsyncClient(base_url=settings.api.url, headers={"X-API-Key": key}, timeout=60)
    sandbox = httpx.AsyncClient(base_url=settings.sandbox.url, timeout=60)
    started = time.monotonic()
    async with api, sandbox:
        for provider in PROVIDERS:
            config = FaultConfig.from_rate(faults).model_dump()
            (await sandbox.put(f"/admin/faults/{provider}", json=config)).raise_for_status()
        portal = portal_faults(faults)
        (await sandbox.put("/portal/admin/config", json=portal)).raise_for_status()
        health = (await api.get("/health")).json()
        window = float(health.get("payment_window_s", 0))
        unpaid_allowed = window <= limit_s / 2
        if not unpaid_allowed:
            Console(stderr=True).print(
                f"this stack waits {window:g} s for a payment: the demo places no unpaid orders"
            )
        cancel_window = float(health.get("invoice_cancel_window_s", 0))
        world = make_orders(rng, count, run, unpaid_allowed=unpaid_allowed)
        if not 0 < cancel_window <= limit_s / 4:  # a real window: no late cancellations
            world = [replace(o, fate="cancelled_invoiced") if o.fate == "returned" else o
                     for o in world]  # fmt: skip
        if pace.all_paid:
            world = [replace(o, fate="paid", pay_after_s=0.0) for o in world]
        await _seed_catalogue(api, sandbox, world, run)
        stop = asyncio.Event()
        robot = WarehouseRobot(api, random.Random(seed + 1), mistake_rate=pace.mistake_rate)
        robot.held.update(
            o.workflow_id for o in world if o.fate in ("cancelled_invoiced", "returned")
        )
        robot_task = asyncio.create_task(robot.run(stop, pace.robot_interval_s))
        placed_from = time.monotonic()
        after = AfterInvoice(api, sandbox, cancel_window)
        placing = asyncio.create_task(
            _place_all(sandbox, world, rng, pace.place_gap_s, after=after)
        )
        views = await _wait_terminal(api, world, limit_s, placing, watch, pace.poll_s)
        run_s = time.monotonic() - placed_from
        stop.set()
        await robot_task
        if not placing.done():
            placing.cancel()
        stats = (await sandbox.get("/admin/stats")).json()
        stats["portal"] = (await sandbox.get("/portal/admin/stats")).json()
        stats["bookings"] = await bookings(sandbox)
        stats["fiscal"] = await _fiscal(sandbox, stats, after)
    summary = _summary(world, views, stats, robot, time.monotonic() - started, faults, seed, run)
    summary["run_s"] = round(run_s, 2)  # first order placed → every order terminal
    return summary


def portal_faults(rate: float) -> dict[str, Any]:
    """The carrier portal's hazards at about `rate`: slow pages, maintenance, a changed
    layout, lost confirmations, and sessions short enough to expire during the demo."""
    return {
        "session_ttl_s": 20 if rate else 600,
        "slow_rate": rate * 0.5,
        "slow_s": 1.5,
        "maintenance_rate": rate * 0.25,
        "layout_change_rate": rate,
        "lost_confirmation_rate": rate * 0.25,
    }


async def bookings(sandbox: httpx.AsyncClient) -> dict[str, int]:
    """Live bookings per kind of logistics, from the carriers' own records (the ledger):
    labels bought by API, pickups booked on the portal, marketplace labels printed."""
    ledger = (await sandbox.get("/admin/ledger")).json()
    tags: dict[str, set[str]] = {"api": set(), "portal": set(), "marketplace": set()}
    gone: set[str] = set()
    for e in ledger:
        kind, provider = e.get("kind"), e.get("provider")
        if kind == "label_purchased" and provider == "carrier":
            tags["api"].add(str(e.get("shipment_id")))
        elif kind == "pickup_booked" and provider == "portal":
            tags["portal"].add(str(e.get("pickup")))
        elif kind == "label_printed" and provider == "marketplace":
            tags["marketplace"].add(str(e.get("shipment_id")))
        elif kind in ("label_cancelled", "pickup_cancelled"):
            gone.add(str(e.get("shipment_id") or e.get("pickup")))
    return {k: len(ids - gone) for k, ids in tags.items()}


async def _seed_catalogue(
    api: httpx.AsyncClient, sandbox: httpx.AsyncClient, world: list[DemoOrder], run: str
) -> None:
    demand: Counter[str] = Counter()
    for order in world:
        for sku, qty in order.lines:
            demand[sku] += qty
    listed = (await sandbox.get("/marketplace/admin/stock")).json()
    today = datetime.now(LOCAL_TZ).date()
    for index, (sku, name, ncm, price, weight, (height, width, length)) in enumerate(PRODUCTS):
        cost = f"{float(price) * 0.45:.2f}"
        origin, gtin = FISCAL.get(sku, ("0", ""))
        product = {
            "name": name, "ncm": ncm, "price": price, "cost": cost, "weight_g": weight,
            "height_cm": height, "width_cm": width, "length_cm": length,
            "origin": origin, "gtin": gtin, "bin": f"A-{index + 1}",
        }  # fmt: skip
        (await api.put(f"/products/{sku}", json=product)).raise_for_status()
        for lot in demo_lots(index, sku, demand[sku] + 10, today, run):
            receipt = {
                "quantity": lot.quantity, "key": f"demo-{run}-{sku}-{lot.lot}", "lot": lot.lot,
                "expires_on": lot.expires_on.isoformat() if lot.expires_on else None,
                "bin": lot.bin,
            }  # fmt: skip
            (await api.post(f"/products/{sku}/receipts", json=receipt)).raise_for_status()
        if sku not in listed:
            listing = {"sku": sku, "title": name, "price": price}
            (await sandbox.post("/marketplace/admin/listings", json=listing)).raise_for_status()


async def _place_all(
    sandbox: httpx.AsyncClient,
    world: list[DemoOrder],
    rng: random.Random,
    gap_s: tuple[float, float] = (0.01, 0.08),
    *,
    after: AfterInvoice | None = None,
) -> None:
    later: list[asyncio.Task[None]] = []
    for order in world:
        await asyncio.sleep(rng.uniform(*gap_s))
        if order.channel == "store":
            r = await sandbox.post("/store/admin/orders", json=store_payload(order))
            r.raise_for_status()
            if order.fate != "unpaid":
                payment = {
                    "external_reference": f"store:{order.external_id}",
                    "amount": str(r.json()["total"]),
                    "approve_after_s": order.pay_after_s,
                }
                (await sandbox.post("/payments/admin/payments", json=payment)).raise_for_status()
        else:
            r = await sandbox.post("/marketplace/admin/orders", json=marketplace_payload(order))
            r.raise_for_status()
        if order.fate == "cancelled":
            later.append(asyncio.create_task(_cancel_later(sandbox, order)))
        elif order.fate in AFTER_INVOICE and after is not None:
            later.append(asyncio.create_task(after.act(order)))
    await asyncio.gather(*later)


class AfterInvoice:
    """What people do to an order once its NF-e is authorised: the customer cancels it
    within the cancellation window, or after it, or ops send a correction letter."""

    def __init__(
        self, api: httpx.AsyncClient, sandbox: httpx.AsyncClient, cancel_window_s: float
    ) -> None:
        self._api = api
        self._sandbox = sandbox
        self._window_s = cancel_window_s
        self.corrections: Counter[str] = Counter()

    async def act(self, order: DemoOrder, limit_s: float = 300) -> None:
        if not await self._invoiced(order, limit_s):
            return
        if order.fate == "corrected":
            text = (
                f"Endereco de entrega: {order.place[0]}, bloco B, apartamento 42; "
                "entregar na portaria"
            )
            r = await self._api.post(
                f"/orders/{order.workflow_id}/invoice/corrections", json={"text": text}
            )
            self.corrections[r.json().get("status", str(r.status_code))] += 1
            return
        wait = 1.0 if order.fate == "cancelled_invoiced" else self._window_s + 3
        await asyncio.sleep(wait)
        await _cancel_later(self._sandbox, replace(order, cancel_after_s=0))

    async def _invoiced(self, order: DemoOrder, limit_s: float) -> bool:
        deadline = time.monotonic() + limit_s
        while time.monotonic() < deadline:
            try:
                view = (await self._api.get(f"/orders/{order.workflow_id}")).json()
            except (httpx.HTTPError, ValueError):
                view = {}
            found = view.get("order") or {}
            if found.get("invoice_key"):
                return True
            if found.get("status") in TERMINAL:
                return False
            await asyncio.sleep(1.0)
        return False


async def _fiscal(
    sandbox: httpx.AsyncClient, stats: dict[str, Any], after: AfterInvoice
) -> dict[str, Any]:
    """What SEFAZ did in the demo (its ledger), and the correction letters' answers."""
    kinds = stats.get("ledger", {})
    authorised = (await sandbox.get("/admin/ledger", params={"kind": "invoice_authorised"})).json()
    returns = sum(1 for e in authorised if e.get("purpose") == "return")
    return {
        "authorised": len(authorised) - returns,
        "cancelled": kinds.get("invoice_cancelled", 0),
        "returned": returns,
        "numbers_voided": kinds.get("numbers_voided", 0),
        "corrections": dict(after.corrections),
        "contingency": sum(
            1 for e in authorised if str(e.get("access_key", ""))[34:35] in ("6", "7")
        ),
    }


async def _cancel_later(sandbox: httpx.AsyncClient, order: DemoOrder) -> None:
    await asyncio.sleep(order.cancel_after_s)
    path = "store" if order.channel == "store" else "marketplace"
    await sandbox.post(f"/{path}/admin/orders/{order.external_id}/cancel", json={})


async def _wait_terminal(
    api: httpx.AsyncClient,
    world: list[DemoOrder],
    limit_s: float,
    placing: asyncio.Task[None],
    watch: Watch | None = None,
    poll_s: float = 1.0,
) -> dict[str, dict[str, Any]]:
    wanted = {o.workflow_id for o in world}
    views: dict[str, dict[str, Any]] = {}
    deadline = time.monotonic() + limit_s
    columns = (
        TextColumn("[bold]orders"), BarColumn(), MofNCompleteColumn(),
        TextColumn("{task.fields[detail]}"), TimeElapsedColumn(),
    )  # fmt: skip
    with Progress(*columns, console=Console(stderr=True), transient=False) as progress:
        bar = progress.add_task("orders", total=len(wanted), detail="")
        while time.monotonic() < deadline:
            if placing.done() and placing.exception() is not None:
                raise RuntimeError(f"placing orders failed: {placing.exception()}")
            views.update(await _fetch_views(api, wanted))
            statuses = Counter(v["status"] for v in views.values())
            done = sum(statuses[s] for s in TERMINAL)
            stuck = sum(1 for v in views.values() if v.get("needs_attention"))
            detail = f"delivered {statuses['delivered']} cancelled {statuses['cancelled']}"
            progress.update(
                bar, completed=done, detail=detail + (f" stuck {stuck}" if stuck else "")
            )
            if watch is not None:
                await watch(done, len(wanted))
            if done == len(wanted):
                break
            await asyncio.sleep(poll_s)
    return views


async def _fetch_views(api: httpx.AsyncClient, wanted: set[str]) -> dict[str, dict[str, Any]]:
    found: dict[str, dict[str, Any]] = {}
    offset = 0
    while True:
        try:
            response = await api.get("/orders", params={"limit": 500, "offset": offset})
            page = response.json()
        except (httpx.HTTPError, ValueError):
            return found
        if not isinstance(page, list):
            return found
        found.update({v["order_id"]: v for v in page if v["order_id"] in wanted})
        if len(page) < 500 or len(found) == len(wanted):
            return found
        offset += 500


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return 0.0
    index = min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))
    return ordered[index]


def _summary(
    world: list[DemoOrder],
    views: dict[str, dict[str, Any]],
    stats: dict[str, Any],
    robot: WarehouseRobot,
    elapsed: float,
    faults: float,
    seed: int,
    run: str,
) -> dict[str, Any]:
    statuses = Counter(views[o.workflow_id]["status"] if o.workflow_id in views else "missing"
                       for o in world)  # fmt: skip
    durations: dict[str, list[float]] = {name: [] for name in PHASES}
    for view in views.values():
        times = {k: datetime.fromisoformat(v) for k, v in view.get("phase_times", {}).items()}
        for name, (start, end) in PHASES.items():
            if start in times and end in times:
                durations[name].append((times[end] - times[start]).total_seconds())
    phases = {
        name: {"count": len(vals), "p50": _percentile(vals, 0.5), "p90": _percentile(vals, 0.9)}
        for name, vals in durations.items()
        if vals
    }
    return {
        "run": run,
        "seed": seed,
        "orders": len(world),
        "fault_rate": faults,
        "channels": dict(Counter(o.channel for o in world)),
        "planned_fates": dict(Counter(o.fate for o in world)),
        "statuses": dict(statuses),
        "not_terminal": sorted(
            o.workflow_id
            for o in world
            if views.get(o.workflow_id, {}).get("status") not in TERMINAL
        ),  # fmt: skip
        "needs_attention": sorted(
            v["order_id"] for v in views.values() if v.get("needs_attention")
        ),
        "phases": phases,
        "faults_injected": stats.get("faults_injected", {}),
        "bookings": stats.get("bookings", {}),
        "portal": stats.get("portal", {}),
        "webhooks": stats.get("webhooks", {}),
        "fiscal": stats.get("fiscal", {}),
        "warehouse": {
            "steps": dict(robot.done),
            "check_mistakes_caught": robot.mistakes_caught,
            "refused": dict(robot.refused),
        },  # fmt: skip
        "elapsed_s": round(elapsed, 1),
    }
