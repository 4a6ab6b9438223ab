"""The warehouse robot: operators on shifts who pick, pack and check through the public
API, sometimes scanning the wrong quantity first (the check catches it)."""

from __future__ import annotations

import asyncio
import random
from collections import Counter
from typing import Any

import httpx

OPERATORS = [("ana", "A"), ("bruno", "A"), ("carla", "B")]


class WarehouseRobot:
    def __init__(
        self, http: httpx.AsyncClient, rng: random.Random, mistake_rate: float = 0.05
    ) -> None:
        self._http = http
        self._rng = rng
        self._mistake_rate = mistake_rate
        self.done: Counter[str] = Counter()
        self.mistakes_caught = 0
        self.refused: Counter[str] = Counter()
        self.held: set[str] = set()  # orders left on the shelf (the demo cancels them)

    async def run(self, stop: asyncio.Event, interval_s: float = 0.3) -> None:
        while not stop.is_set():
            try:
                tasks = (await self._http.get("/warehouse/tasks", params={"limit": 200})).json()
            except httpx.HTTPError:
                tasks = []
            if isinstance(tasks, list) and tasks:
                await asyncio.gather(*(self._work(task) for task in tasks))
            try:
                await asyncio.wait_for(stop.wait(), interval_s)
            except TimeoutError:
                pass

    async def _work(self, task: dict[str, Any]) -> None:
        """Work one task from the step the list shows, then follow the workflow's own
        answer (`next_step`) until it is checked or refused."""
        if task["order_id"] in self.held:
            return
        step = task.get("next_step")
        operator, shift = OPERATORS[hash(task["order_id"]) % len(OPERATORS)]
        while step is not None:
            body: dict[str, Any] = {"operator": operator, "shift": shift}
            if step == "check":
                scanned = dict(task["items"])
                if self._rng.random() < self._mistake_rate:
                    wrong = dict(scanned)
                    sku = next(iter(wrong))
                    wrong[sku] += 1
                    response = await self._post(task["order_id"], step, {**body, "scanned": wrong})
                    if response is not None and response.status_code == 409:
                        self.mistakes_caught += 1
                body["scanned"] = scanned
            response = await self._post(task["order_id"], step, body)
            if response is None:
                return
            if response.status_code != 200:
                self.refused[str(response.status_code)] += 1
                return
            self.done[step] += 1
            step = response.json().get("next_step")

    async def _post(self, order_id: str, step: str, body: dict[str, Any]) -> httpx.Response | None:
        try:
            return await self._http.post(f"/warehouse/orders/{order_id}/{step}", json=body)
        except httpx.HTTPError:
            return None
