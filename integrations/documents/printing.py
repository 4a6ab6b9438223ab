"""Printing what goes with a parcel: the packing slip (romaneio) always, and the label
(with a Code 128 barcode of the tracking code) when the carrier supplied none. Jinja2
templates (autoescaped, StrictUndefined) rendered to HTML here, purely, then to PDF by the
`rpa` worker's one Chromium, a fresh context per document."""

from __future__ import annotations

import io
from decimal import Decimal
from pathlib import Path

from barcode import Code128
from barcode.writer import SVGWriter
from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

from domain.carriers import ShippingDocumentsRequest
from domain.fiscal import Issuer
from integrations.portals.browser import BrowserPool

TEMPLATES = Path(__file__).parent / "templates"


def brl(value: Decimal) -> str:
    whole, cents = f"{value:.2f}".split(".")
    return f"R$ {int(whole):,}".replace(",", ".") + f",{cents}"


def environment() -> Environment:
    env = Environment(
        loader=FileSystemLoader(TEMPLATES),
        autoescape=select_autoescape(["html"]),
        undefined=StrictUndefined,
    )
    env.filters["brl"] = brl
    return env


def barcode_svg(code: str) -> str:
    out = io.BytesIO()
    Code128(code, writer=SVGWriter()).write(out, options={"write_text": False})
    svg = out.getvalue().decode()
    return svg[svg.index("<svg") :]  # inline: no XML declaration or doctype


class ShippingPrinter:
    def __init__(self, pool: BrowserPool, sender: Issuer) -> None:
        self._pool = pool
        self._sender = sender
        self._env = environment()

    def html(self, template: str, request: ShippingDocumentsRequest) -> str:
        order = request.order
        return self._env.get_template(template).render(
            order=order,
            order_id=request.order_id,
            to=order.customer.address,
            booking=request.booking,
            sender=self._sender,
            invoice_key=request.invoice_key,
            invoice_number=request.invoice_number,
            barcode=barcode_svg(request.booking.tracking_code),
        )

    async def pdf(self, template: str, request: ShippingDocumentsRequest) -> bytes:
        async with self._pool.context() as context:
            page = await context.new_page()
            await page.set_content(self.html(template, request), wait_until="load")
            return await page.pdf(prefer_css_page_size=True, print_background=True)

    async def label(self, request: ShippingDocumentsRequest) -> bytes:
        return await self.pdf("label.html", request)

    async def packing_slip(self, request: ShippingDocumentsRequest) -> bytes:
        return await self.pdf("packing_slip.html", request)
