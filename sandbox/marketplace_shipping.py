"""The marketplace's own logistics (Mercado Envios-like), part of the sandbox marketplace:
an order whose `shipping.mode` is `me2` has a shipment the marketplace sells and labels.
The seller reads it (`GET /shipments/{id}`), prints its label (`GET /shipment_labels?
shipment_ids=...&response_type=pdf`, which gives it a tracking number) and buys nothing;
the parcel then moves `ready_to_ship` -> `shipped` -> `delivered` on the marketplace's
clock. The ledger records `label_printed` (never `label_purchased`) and each state."""

from __future__ import annotations

import asyncio
import itertools
from dataclasses import dataclass, field
from typing import Any

from fastapi import APIRouter, Response

from sandbox.carrier import label_pdf
from sandbox.core import SandboxState

PROVIDER = "marketplace"
MODES = ("custom", "me2")
STEPS = (("shipped", None), ("delivered", None))


@dataclass
class Logistics:
    shipments: dict[str, dict[str, Any]] = field(default_factory=dict)
    tasks: dict[str, asyncio.Task[None]] = field(default_factory=dict)
    seq: itertools.count[int] = field(default_factory=lambda: itertools.count(1))


def logistics(state: SandboxState) -> Logistics:
    data = state.data[PROVIDER].get("logistics")
    if not isinstance(data, Logistics):
        data = state.data[PROVIDER]["logistics"] = Logistics()
    return data


def open_shipment(state: SandboxState, order: dict[str, Any], mode: str) -> None:
    """Give an order its shipment: `me2` is the marketplace's logistics."""
    shipping = order["shipping"]
    shipping["mode"] = mode
    shipping["logistic_type"] = "drop_off" if mode == "me2" else None
    if mode != "me2":
        return
    sid = str(shipping["id"])
    logistics(state).shipments[sid] = {
        "id": int(sid), "order_id": order["id"], "mode": "me2", "logistic_type": "drop_off",
        "status": "ready_to_ship", "substatus": "ready_to_print", "tracking_number": None,
        "tracking_method": "Mercado Envios", "last_updated": state.clock().isoformat(),
    }  # fmt: skip


def add_routes(api: APIRouter, admin: APIRouter, state: SandboxState, error: Any) -> None:
    data = logistics(state)

    def shipment_or_404(shipment_id: str) -> dict[str, Any]:
        found = data.shipments.get(shipment_id)
        if found is None:
            raise error(404, f"Shipment {shipment_id} not found", "not_found")
        return found

    async def move(shipment: dict[str, Any]) -> None:
        for status, substatus in STEPS:
            await asyncio.sleep(state.config.carrier_step_s)
            if shipment["status"] == "cancelled":
                return
            shipment.update(status=status, substatus=substatus,
                            last_updated=state.clock().isoformat())  # fmt: skip
            state.ledger.record(PROVIDER, "tracking", shipment_id=str(shipment["id"]),
                                tag=f"order:marketplace:{shipment['order_id']}",
                                tracking=shipment["tracking_number"], status=status)  # fmt: skip

    @api.get("/shipments/{shipment_id}")
    async def get_shipment(shipment_id: str) -> dict[str, Any]:
        await state.faults.before(PROVIDER)
        return shipment_or_404(shipment_id)

    @api.get("/shipment_labels")
    async def labels(shipment_ids: str, response_type: str = "pdf") -> Response:
        await state.faults.before(PROVIDER)
        if response_type != "pdf":
            raise error(400, f"response_type {response_type!r}: only pdf here", "bad_request")
        shipment = shipment_or_404(shipment_ids.split(",")[0])
        if shipment["status"] == "cancelled":
            raise error(400, "the shipment is cancelled: no label", "bad_request")
        if shipment["tracking_number"] is None:
            shipment["tracking_number"] = f"MEL{4_000_000_000 + next(data.seq)}"
            shipment["substatus"] = "printed"
            state.ledger.record(PROVIDER, "label_printed", shipment_id=str(shipment["id"]),
                                tag=f"order:marketplace:{shipment['order_id']}",
                                tracking=shipment["tracking_number"])  # fmt: skip
            data.tasks[str(shipment["id"])] = asyncio.create_task(move(shipment))
        lines = ["Mercado Envios", str(shipment["id"]), shipment["tracking_number"]]
        state.faults.after(PROVIDER)
        return Response(label_pdf(lines), media_type="application/pdf")

    @admin.get("/shipments")
    async def all_shipments() -> list[dict[str, Any]]:
        return list(data.shipments.values())


def cancel_shipment(state: SandboxState, order: dict[str, Any]) -> None:
    """A cancelled order's marketplace shipment is cancelled with it."""
    found = logistics(state).shipments.get(str(order["shipping"]["id"]))
    if found is not None and found["status"] == "ready_to_ship":
        found.update(status="cancelled", substatus=None)
