"""Open-loop load generator for `bench intake`, run as its own process
(`python -m retaguarda.bench.loadgen PLAN.json RESULT.json`).

Request i is due at ``start + i / rate`` whatever happened to the earlier ones: each goes
out on a free keep-alive connection, or on a new one when every connection is busy, so a
slow server meets a growing number of connections instead of a politely waiting client.
Latency runs from the due time to the last byte of the answer, so time the generator
itself lost (being late to send) counts against the result, never hides it.

The client is a minimal HTTP/1.1 writer/reader on asyncio streams: a general client
(httpx) costs more CPU per request than the endpoint under test, on the same two cores.
"""

from __future__ import annotations

import asyncio
import gc
import json
import resource
import sys
import time
from collections import Counter
from dataclasses import asdict, dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

from pydantic import BaseModel
from validate_docbr import CPF

from sandbox.core import sign


class Plan(BaseModel):
    host: str
    port: int
    path: str = "/webhooks/store"
    rate: float
    seconds: float
    secret: str
    run_id: str
    timeout_s: float = 30.0
    max_connections: int = 1024


@dataclass
class Outcome:
    index: int
    status: int  # HTTP status; 0 when no answer came (timeout, connection error)
    latency_ms: float
    lag_ms: float  # how late the generator sent it
    accepted: bool = False
    error: str = ""


@dataclass
class Tally:
    outcomes: list[Outcome] = field(default_factory=list)
    connections_opened: int = 0
    stale_retries: int = 0


def order_id(run_id: str, index: int) -> str:
    return f"bench-{run_id}-{index:06d}"


def store_webhook(run_id: str, index: int, cpf: str) -> bytes:
    """A store `order.created` webhook with a distinct order, as the store sends it."""
    external_id = order_id(run_id, index)
    order = {
        "id": external_id,
        "created_at": "2026-11-27T12:00:00-03:00",
        "status": "open",
        "customer": {
            "name": "Cliente Bench", "cpf": cpf, "email": "cliente@example.com",
            "phone": "11987654321",
        },
        "shipping_address": {
            "street": "Rua das Flores", "number": str(10 + index % 900), "neighborhood": "Centro",
            "city": "Campinas", "state": "SP", "zipcode": "13010-000",
        },
        "items": [
            {"sku": "SKU-A", "quantity": 1 + index % 3, "price": "59.90"},
            {"sku": "SKU-B", "quantity": 1, "price": "19.90"},
        ],
        "shipping_cost": "15.00",
        "payment": {"method": "pix", "status": "pending"},
    }  # fmt: skip
    order["total"] = str(Decimal("59.90") * (1 + index % 3) + Decimal("34.90"))
    envelope = {"id": f"evt-{external_id}", "type": "order.created", "data": order}
    return json.dumps(envelope, separators=(",", ":")).encode()


class Connection:
    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader, self.writer = reader, writer
        self.reused = False  # has answered a request before

    async def exchange(self, request: bytes) -> tuple[int, bytes, bool]:
        """Send one request; returns (status, body, keep_alive)."""
        self.writer.write(request)
        head = await self.reader.readuntil(b"\r\n\r\n")
        lines = head.decode("latin-1").split("\r\n")
        status = int(lines[0].split(" ", 2)[1])
        length, keep_alive = 0, True
        for line in lines[1:]:
            name, _, value = line.partition(":")
            name = name.strip().lower()
            if name == "content-length":
                length = int(value)
            elif name == "connection" and value.strip().lower() == "close":
                keep_alive = False
        body = await self.reader.readexactly(length) if length else b""
        self.reused = True
        return status, body, keep_alive

    def close(self) -> None:
        self.writer.close()


class Generator:
    def __init__(self, plan: Plan) -> None:
        self.plan = plan
        self.idle: list[Connection] = []
        self.open = 0
        self.tally = Tally()
        generate = CPF().generate
        count = self.total
        self.bodies = [store_webhook(plan.run_id, i, generate(mask=True)) for i in range(count)]
        self.head = (
            f"POST {plan.path} HTTP/1.1\r\nHost: {plan.host}:{plan.port}\r\n"
            "Content-Type: application/json\r\n"
        ).encode()

    @property
    def total(self) -> int:
        return max(1, round(self.plan.rate * self.plan.seconds))

    def request(self, index: int) -> bytes:
        body = self.bodies[index]
        signature = sign(self.plan.secret, body)
        return (
            self.head
            + f"X-Signature: {signature}\r\nContent-Length: {len(body)}\r\n\r\n".encode()
            + body
        )

    async def connection(self, *, fresh: bool = False) -> Connection:
        if self.idle and not fresh:
            return self.idle.pop()
        while self.open >= self.plan.max_connections:
            await asyncio.sleep(0.001)
            if self.idle and not fresh:
                return self.idle.pop()
        self.open += 1
        self.tally.connections_opened += 1
        try:
            reader, writer = await asyncio.open_connection(self.plan.host, self.plan.port)
        except OSError:
            self.open -= 1
            raise
        return Connection(reader, writer)

    async def exchange(self, index: int) -> tuple[Connection, int, bytes, bool]:
        """Send request `index` on a free connection. A kept-alive connection the server
        closed while it sat idle (uvicorn's keep-alive timeout) fails before any byte of
        an answer: that request never reached the server and goes again on a new
        connection, as HTTP clients do."""
        conn = await self.connection()
        try:
            return conn, *await conn.exchange(self.request(index))
        except (asyncio.IncompleteReadError, ConnectionResetError) as exc:
            partial = getattr(exc, "partial", b"")
            if partial or not conn.reused:
                raise
            conn.close()
            self.open -= 1
            self.tally.stale_retries += 1
        conn = await self.connection(fresh=True)
        return conn, *await conn.exchange(self.request(index))

    async def send(self, index: int, due: float) -> None:
        loop = asyncio.get_running_loop()
        lag_ms = (loop.time() - due) * 1000
        conn: Connection | None = None
        try:
            async with asyncio.timeout(self.plan.timeout_s):
                conn, status, body, keep_alive = await self.exchange(index)
        except (OSError, TimeoutError, asyncio.IncompleteReadError, ValueError) as exc:
            if conn is not None:
                conn.close()
                self.open -= 1
            latency = (loop.time() - due) * 1000
            error = type(exc).__name__
            self.tally.outcomes.append(Outcome(index, 0, latency, lag_ms, error=error))
            return
        latency = (loop.time() - due) * 1000
        if keep_alive:
            self.idle.append(conn)
        else:
            conn.close()
            self.open -= 1
        accepted = status == 202 and json.loads(body).get("status") == "accepted"
        self.tally.outcomes.append(Outcome(index, status, latency, lag_ms, accepted))

    async def run(self) -> dict[str, Any]:
        loop = asyncio.get_running_loop()
        cpu0 = resource.getrusage(resource.RUSAGE_SELF)
        interval = 1.0 / self.plan.rate
        start = loop.time() + 0.05
        tasks = []
        for index in range(self.total):
            due = start + index * interval
            delay = due - loop.time()
            if delay > 0:
                await asyncio.sleep(delay)
            tasks.append(asyncio.create_task(self.send(index, due)))
        await asyncio.gather(*tasks)
        elapsed = loop.time() - start
        for conn in self.idle:
            conn.close()
        cpu1 = resource.getrusage(resource.RUSAGE_SELF)
        cpu_s = (cpu1.ru_utime - cpu0.ru_utime) + (cpu1.ru_stime - cpu0.ru_stime)
        return self.summary(elapsed, cpu_s)

    def summary(self, elapsed_s: float, cpu_s: float) -> dict[str, Any]:
        outcomes = sorted(self.tally.outcomes, key=lambda o: o.index)
        statuses = Counter(str(o.status) if o.status else o.error for o in outcomes)
        return {
            "sent": len(outcomes),
            "elapsed_s": elapsed_s,
            "statuses": dict(statuses),
            "connections_opened": self.tally.connections_opened,
            "stale_connection_retries": self.tally.stale_retries,
            "generator_cpu_s": cpu_s,
            "accepted_ids": [order_id(self.plan.run_id, o.index) for o in outcomes if o.accepted],
            "outcomes": [asdict(o) for o in outcomes],
        }


def main(argv: list[str]) -> int:
    if len(argv) != 2:
        sys.stderr.write("usage: python -m retaguarda.bench.loadgen PLAN.json RESULT.json\n")
        return 2
    plan = Plan.model_validate_json(Path(argv[0]).read_text())
    began = time.time()
    # The measuring instrument must not add latency: its own collector pauses (20-30 ms
    # full passes) would be counted as the API's. A run is seconds long; memory is fine.
    gc.collect()
    gc.disable()
    result = asyncio.run(Generator(plan).run())
    gc.enable()
    result["began_at"] = began
    Path(argv[1]).write_text(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
