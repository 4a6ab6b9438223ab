"""`retaguarda chaos`: the demo world against a stack this command starts itself, while
it SIGKILLs the orders worker, the API and the Temporal dev server at random moments
(each restarted, the server on the same SQLite file); then the audit, live (every order
workflow is asked what it knows) and against the sandbox ledger.

Kill moments are seeded: each kill fires when the share of terminal orders crosses a
random threshold, plus a random delay, so every kill lands while orders are in flight. A
process that dies on its own is restarted too (as a supervisor would) and counted."""

from __future__ import annotations

import asyncio
import random
import socket
import time
from dataclasses import dataclass, field
from typing import Any

from rich.console import Console

from config.settings import Settings
from retaguarda.audit import run_audit
from retaguarda.demo import DEMO_ENV
from retaguarda.demo.driver import drive_demo
from retaguarda.stack import Stack, StackError, is_up, running_stack

WORKER, API, TEMPORAL = "worker", "api", "temporal"
TERMINAL = ("delivered", "cancelled")


@dataclass(order=True)
class Kill:
    at_share: float  # fires once this share of the orders is terminal
    target: str = field(compare=False)
    delay_s: float = field(compare=False)  # then waits this long: lands mid-step
    down_s: float = field(compare=False)  # how long the process stays dead


def plan(rng: random.Random, worker_kills: int, api_kills: int, server_restarts: int) -> list[Kill]:
    kills = [
        *(WORKER for _ in range(worker_kills)),
        *(API for _ in range(api_kills)),
        *(TEMPORAL for _ in range(server_restarts)),
    ]
    return sorted(
        Kill(rng.uniform(0.05, 0.8), target, rng.uniform(0.0, 2.0), rng.uniform(0.3, 3.0))
        for target in kills
    )


class ChaosMonkey:
    def __init__(self, stack: Stack, kills: list[Kill]) -> None:
        self._stack = stack
        self._pending = list(kills)
        self.done: dict[str, int] = {WORKER: 0, API: 0, TEMPORAL: 0}
        self.unexpected: dict[str, int] = {}
        self.log: list[str] = []
        self._started = time.monotonic()

    async def watch(self, terminal: int, total: int) -> None:
        await self._supervise()
        share = terminal / max(total, 1)
        while self._pending and self._pending[0].at_share <= share:
            await self._strike(self._pending.pop(0))

    async def finish(self) -> None:
        """Kills whose moment never came (the run ended first) happen now, so the count
        asked for is the count done; then everything is up again."""
        while self._pending:
            await self._strike(self._pending.pop(0))
        await self._supervise()

    async def _strike(self, kill: Kill) -> None:
        await asyncio.sleep(kill.delay_s)
        elapsed = time.monotonic() - self._started
        self.log.append(f"{elapsed:6.1f} s: SIGKILL {kill.target}, down {kill.down_s:.1f} s")
        Console(stderr=True).print(f"[red]chaos[/] {self.log[-1]}")
        await asyncio.to_thread(self._stack.kill, kill.target)
        await asyncio.sleep(kill.down_s)
        await self._restart(kill.target)
        self.done[kill.target] += 1

    async def _supervise(self) -> None:
        for name in self._stack.exited():
            self.unexpected[name] = self.unexpected.get(name, 0) + 1
            Console(stderr=True).print(f"[yellow]chaos[/] {name} exited by itself: restarting")
            await self._restart(name)

    async def _restart(self, name: str) -> None:
        self._stack.respawn(name)
        settings = self._stack.settings
        if name == TEMPORAL:
            host, _, port = settings.temporal.address.rpartition(":")
            await _until(lambda: _port_open(host or "127.0.0.1", int(port)), f"{name} port")
        elif name == API:
            await _until(lambda: is_up(settings), "API health")


async def _until(check: Any, what: str, timeout_s: float = 90) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if await asyncio.to_thread(check):
            return
        await asyncio.sleep(0.2)
    raise StackError(f"{what} did not come back within {timeout_s:g} s")


def _port_open(host: str, port: int) -> bool:
    with socket.socket() as sock:
        sock.settimeout(0.5)
        return sock.connect_ex((host, port)) == 0


def run_chaos(
    settings: Settings,
    *,
    orders: int,
    faults: float,
    seed: int,
    worker_kills: int,
    server_restarts: int,
    api_kills: int,
    timeout: float = 1800,
) -> dict[str, Any]:
    if is_up(settings):
        raise StackError(
            f"something already answers at {settings.api.url}: chaos starts (and kills) its "
            "own stack; stop it or give this run other ports and RETAGUARDA_VAR_DIR"
        )
    env = {"RETAGUARDA_SANDBOX__SEED": str(seed), "RETAGUARDA_SANDBOX__FAULT_RATE": str(faults)}
    started = time.monotonic()
    with running_stack(settings, env, defaults=DEMO_ENV) as stack:
        kills = plan(random.Random(seed), worker_kills, api_kills, server_restarts)
        monkey = ChaosMonkey(stack, kills)
        summary = asyncio.run(_drive(settings, stack, monkey, orders, faults, seed, timeout))
        report = asyncio.run(run_audit(settings, live=True))
    violations = [v for c in report["checks"] for v in c["violations"]]
    return {
        "orders": orders,
        "terminal": sum(summary["statuses"].get(s, 0) for s in TERMINAL),
        "needs_attention": len(summary["needs_attention"]),
        "worker_kills": monkey.done[WORKER],
        "api_kills": monkey.done[API],
        "server_restarts": monkey.done[TEMPORAL],
        "unexpected_exits": monkey.unexpected,
        "audit_ok": bool(report["ok"]),
        "violations": violations,
        "elapsed_s": round(time.monotonic() - started, 1),
        "seed": seed,
        "fault_rate": faults,
        "statuses": summary["statuses"],
        "not_terminal": summary["not_terminal"],
        "faults_injected": sum(summary["faults_injected"].values()),
        "kills": monkey.log,
        "audit_checks": {
            c["name"]: ("ok: " if c["ok"] else "FAILED: ") + c["detail"] for c in report["checks"]
        },
    }


async def _drive(
    settings: Settings,
    stack: Stack,
    monkey: ChaosMonkey,
    orders: int,
    faults: float,
    seed: int,
    limit_s: float,
) -> dict[str, Any]:
    summary = await drive_demo(settings, orders, faults, seed, limit_s, watch=monkey.watch)
    await monkey.finish()  # only kills left when the run timed out: then the count still holds
    return summary
