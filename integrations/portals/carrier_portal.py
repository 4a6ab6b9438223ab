"""The bot for a carrier that has only a website (the sandbox's "Expresso Serra"): quote,
book a pickup, download its label, read its status, cancel it. Playwright in the `rpa`
worker's one Chromium, a fresh context per task.

Looks before it acts: `book` searches the pickups by the order reference first, so a
retry after a lost confirmation (booked, but the page never came) finds the pickup
instead of booking a second one. The login session is kept in memory (the context's
storage state) and reused by the next tasks until the portal sends us to the login page
again. Selectors are roles, labels and text, with the few wordings the portal is known
to use, so a field that moved or was renamed is still found. Credentials come from the
worker's settings and are typed into the page only: never logged, never in a history.

On failure the page's screenshot and a Playwright trace go with the error (`PortalError
.artifacts`), for the activity to keep with the order's documents."""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from urllib.parse import urlencode

from playwright.async_api import Error as PlaywrightError
from playwright.async_api import Page

from domain.errors import ProviderError, ProviderRejected
from domain.freight import (
    Booking,
    BookingRequest,
    CarrierKind,
    FreightQuote,
    QuoteRequest,
    TrackingStatus,
)
from integrations.portals.bot import Beat, PortalBot
from integrations.portals.bot import PortalError as BasePortalError
from integrations.portals.browser import BrowserPool

PROVIDER = "carrier_portal"
CARRIER = "Expresso Serra"
CANCELLED = "Cancelada"
STATUSES = {
    "Agendada": None, "Coletada": TrackingStatus.POSTED, "Em trânsito": TrackingStatus.IN_TRANSIT,
    "Saiu para entrega": TrackingStatus.OUT_FOR_DELIVERY, "Entregue": TrackingStatus.DELIVERED,
    "Extraviada": TrackingStatus.LOST, "Avariada": TrackingStatus.DAMAGED,
    "Devolvida ao remetente": TrackingStatus.RETURNED,
}  # fmt: skip
# The labels the portal uses for each field, in its usual and its newer layout.
LABELS = {
    "referencia": r"refer[eê]ncia",
    "destinatario": r"^(nome do )?destinat[aá]rio$",
    "documento": r"(cpf|documento)",
    "telefone": r"^telefone",
    "cep": r"^cep d[eo] destin",
    "endereco": r"^(endere[cç]o|logradouro)$",
    "numero": r"^n[uú]mero$",
    "complemento": r"^complemento$",
    "bairro": r"^bairro$",
    "cidade": r"^(cidade|munic[ií]pio)$",
    "uf": r"^(uf|estado \(uf\))$",
    "volumes": r"volumes$",
    "peso": r"^peso",
    "altura": r"^altura",
    "largura": r"^largura",
    "comprimento": r"^comprimento",
    "valor": r"^valor",
    "nfe": r"nf-e$",
    "servico": r"^(servi[cç]o|modalidade)$",
    "janela": r"^(janela|per[ií]odo) d[ae] coleta$",
}
# Runs in the page: for each [label pattern, value], the control of the one label whose
# text matches gets the value (a select: the option with that text; no value: its first);
# input
# and change events fire as when a person types. Returns the patterns no label matched.
FILL_BY_LABEL = """(form, fields) => {
  const labels = [...form.querySelectorAll('label')];
  const missing = [];
  for (const [pattern, value] of fields) {
    const re = new RegExp(pattern, 'i');
    const label = labels.find(l => re.test(l.textContent.trim()));
    const control = label && label.control;
    if (!control) { missing.push(pattern); continue; }
    if (control.tagName === 'SELECT') {
      const option = value ? [...control.options].find(o => o.text === value)
                           : control.options[0];
      if (!option) { missing.push(pattern + ' = ' + value); continue; }
      control.value = option.value;
    } else if (value) {
      control.value = value;
    }
    control.dispatchEvent(new Event('input', {bubbles: true}));
    control.dispatchEvent(new Event('change', {bubbles: true}));
  }
  return missing;
}"""
SUBMIT = re.compile(r"^(solicitar coleta|confirmar solicita[cç][aã]o)$", re.IGNORECASE)
PICKUP_NO = re.compile(r"COL-\d+")
TRACKING_NO = re.compile(r"ES\d{9}BR")


class PortalError(BasePortalError):
    """The carrier portal did not do what the bot needed (retryable); `artifacts` holds
    the screenshot and trace of the attempt."""

    def __init__(self, message: str, *, code: str = "portal_unavailable") -> None:
        super().__init__(message, provider=PROVIDER, code=code)


@dataclass(frozen=True)
class Pickup:
    number: str
    reference: str
    status_text: str
    tracking_code: str
    service: str
    price: Decimal

    @property
    def live(self) -> bool:
        return self.status_text != CANCELLED

    @property
    def status(self) -> TrackingStatus | None:
        return STATUSES.get(self.status_text)


@dataclass(frozen=True)
class PortalBooking:
    booking: Booking
    label: bytes  # the portal's label PDF
    found: bool  # booked by an earlier attempt, found by the search


def _decimal(text: str) -> Decimal:
    digits = text.replace("R$", "").replace(".", "").replace(",", ".").strip()
    try:
        return Decimal(digits)
    except InvalidOperation:
        raise PortalError(f"the portal showed {text!r} where a value was expected") from None


def _comma(value: Decimal | float | int) -> str:
    return f"{value}".replace(".", ",")


class CarrierPortalBot(PortalBot):
    PROVIDER = PROVIDER
    TITLE = "the carrier portal"
    SECRETS = "CARRIER_PORTAL"

    def __init__(
        self,
        pool: BrowserPool,
        base_url: str,
        username: str,
        password: str,
        *,
        origin_postal_code: str,
        timeout_s: float = 15.0,
        trace: bool = True,
    ) -> None:
        super().__init__(pool, base_url, username, password, timeout_s=timeout_s, trace=trace)
        self._origin = origin_postal_code

    def _translate(self, exc: PlaywrightError, what: str) -> ProviderError:
        return _translate(exc, what)

    # ------------------------------------------------------------------ pages
    async def _check(self, page: Page, status: int) -> None:
        heading = await self._heading(page)
        if status == 503 or heading == "Sistema em manutenção":
            raise PortalError("the carrier portal is under maintenance", code="maintenance")
        if status >= 500:
            raise PortalError(f"the carrier portal answered {status} ({heading})")

    # ------------------------------------------------------------------ reading
    async def _search(self, page: Page, reference: str, beat: Beat) -> list[Pickup]:
        # the search form is a GET: its URL is the search, one page instead of two
        await self._open(page, f"/coletas?{urlencode({'referencia': reference})}", beat)
        if await page.get_by_text("Nenhuma coleta encontrada").count():
            return []
        rows = page.get_by_role("row").filter(has=page.get_by_role("cell"))
        found = []
        for i in range(await rows.count()):
            cells = [c.strip() for c in await rows.nth(i).get_by_role("cell").all_inner_texts()]
            if len(cells) < 6 or cells[1] != reference:
                continue
            found.append(Pickup(cells[0], cells[1], cells[2], cells[3], cells[4],
                                _decimal(cells[5])))  # fmt: skip
        return found

    async def find(self, reference: str, beat: Beat = lambda _: None) -> list[Pickup]:
        """Every pickup booked under `reference`, live ones first."""
        async with self._task(beat, "search") as page:
            found = await self._search(page, reference, beat)
        return sorted(found, key=lambda p: not p.live)

    # ------------------------------------------------------------------ quoting
    async def quote(self, request: QuoteRequest, beat: Beat = lambda _: None) -> list[FreightQuote]:
        parcel = request.parcel
        async with self._task(beat, "quote") as page:
            await self._open(page, "/cotacao", beat)
            await page.get_by_label("CEP de origem").fill(request.from_postal_code)
            await page.get_by_label("CEP de destino").fill(request.to_postal_code)
            await page.get_by_label("Peso (kg)").fill(_comma(Decimal(parcel.weight_g) / 1000))
            await page.get_by_label(re.compile("^valor", re.I)).fill(_comma(parcel.declared_value))
            await self._check(page, await self._click(page, "Calcular"))
            if await page.get_by_text("Não atendemos este trecho").count():
                return [FreightQuote(service_id=0, carrier=CARRIER, service="",
                                     kind=CarrierKind.PORTAL,
                                     error="Não atendemos este trecho.")]  # fmt: skip
            rows = page.get_by_role("row").filter(has=page.get_by_role("cell"))
            quotes = []
            for i in range(await rows.count()):
                name, days, price = await rows.nth(i).get_by_role("cell").all_inner_texts()
                quotes.append(FreightQuote(
                    service_id=i + 1, carrier=CARRIER, service=name.strip(),
                    price=_decimal(price), delivery_days=int(days.split()[0]),
                    kind=CarrierKind.PORTAL,
                ))  # fmt: skip
            return quotes

    # ------------------------------------------------------------------ booking
    async def book(self, request: BookingRequest, beat: Beat = lambda _: None) -> PortalBooking:
        """Book the order's pickup once, whatever retries; return it with its label."""
        reference = request.tag
        async with self._task(beat, "book") as page:
            for _round in range(3):  # a session that expires mid-form costs a round
                live = [p for p in await self._search(page, reference, beat) if p.live]
                found = bool(live)
                if live:
                    pickup = live[0]
                    break
                confirmed = await self._submit(page, request, beat)
                if confirmed is not None:
                    pickup = confirmed
                    break
            else:
                raise PortalError("the portal's session kept expiring while booking")
            label = await self._label(page, pickup, beat)
        booking = Booking(
            order_id=request.order_id,
            shipment_id=pickup.number,
            tracking_code=pickup.tracking_code,
            carrier=CARRIER,
            service=pickup.service or request.quote.service,
            price=pickup.price,
            kind=CarrierKind.PORTAL,
            label_url=f"{self._base}/coletas/{pickup.number}/etiqueta.pdf",
            reference=request.reference,
        )
        return PortalBooking(booking=booking, label=label, found=found)

    async def _submit(self, page: Page, request: BookingRequest, beat: Beat) -> Pickup | None:
        """Fill and send the pickup form: the pickup confirmed, or None when the session
        expired before the form was taken (logged in again: search and try again)."""
        await self._open(page, "/coletas/nova", beat)
        await self._fill(page, request)
        status = await self._click(page, SUBMIT)
        beat("submitted")
        heading = await self._heading(page)
        if heading == "Coleta confirmada":
            return await self._confirmation(page, request.tag)
        if self._at_login(page):
            await self._login(page, beat)
            return None
        if status == 503 or heading == "Sistema em manutenção":
            raise PortalError("the carrier portal is under maintenance", code="maintenance")
        raise PortalError(
            f"the pickup request was sent but no confirmation came (page {heading!r}, HTTP "
            f"{status}): the next attempt searches before it books again",
            code="no_confirmation",
        )

    async def _fill(self, page: Page, request: BookingRequest) -> None:
        """Fill the pickup form by its labels (the wordings in LABELS), in one round trip
        to the page: each label's own control gets its value, as typing would, and a
        label the form does not have is an error naming it."""
        parcel, to = request.parcel, request.recipient_address
        values = {
            "referencia": request.tag, "destinatario": request.recipient_name,
            "documento": request.recipient_document, "telefone": request.recipient_phone,
            "cep": to.postal_code, "endereco": to.street, "numero": to.number,
            "complemento": to.complement, "bairro": to.district, "cidade": to.city,
            "uf": to.state, "volumes": "1", "peso": _comma(Decimal(parcel.weight_g) / 1000),
            "altura": str(parcel.height_cm), "largura": str(parcel.width_cm),
            "comprimento": str(parcel.length_cm), "valor": _comma(parcel.declared_value),
            "nfe": request.invoice_key or "", "servico": request.quote.service, "janela": "",
        }  # fmt: skip
        fields = [[LABELS[k], v] for k, v in values.items()]
        missing = await page.locator("form").first.evaluate(FILL_BY_LABEL, fields)
        if missing:
            raise PortalError(
                f"the pickup form has no field labelled like {', '.join(missing)}: its layout "
                "changed past what the bot knows (update LABELS)",
                code="page_failed",
            )

    async def _confirmation(self, page: Page, reference: str) -> Pickup:
        text = await page.get_by_role("main").inner_text()
        number, tracking = PICKUP_NO.search(text), TRACKING_NO.search(text)
        service = re.search(r"Serviço: (.+?) · Valor: (R\$ [\d.,]+)", text)
        if not (number and tracking and service):
            raise PortalError("the confirmation page does not show the pickup number")
        return Pickup(number[0], reference, "Agendada", tracking[0], service[1],
                      _decimal(service[2]))  # fmt: skip

    async def _label(self, page: Page, pickup: Pickup, beat: Beat) -> bytes:
        beat("label")
        url = f"{self._base}/coletas/{pickup.number}/etiqueta.pdf"
        response = await page.context.request.get(url)
        body = await response.body()
        if response.status != 200 or not body.startswith(b"%PDF"):
            raise PortalError(f"the label of pickup {pickup.number} did not download "
                              f"(HTTP {response.status})")  # fmt: skip
        return body

    # ------------------------------------------------------------------ after booking
    async def cancel(self, reference: str, beat: Beat = lambda _: None) -> list[str]:
        """Cancel every live pickup of `reference` (none: nothing to do). A pickup
        already collected cannot be cancelled: that is a return."""
        cancelled = []
        async with self._task(beat, "cancel") as page:
            for pickup in await self._search(page, reference, beat):
                if not pickup.live:
                    continue
                if pickup.status is not None:
                    raise ProviderRejected(
                        f"pickup {pickup.number} was already collected ({pickup.status_text}): "
                        "it cannot be cancelled, handle it as a return",
                        provider=PROVIDER,
                        code="already_collected",
                    )
                await self._open(page, f"/coletas/{pickup.number}", beat)
                await self._check(page, await self._click(page, "Cancelar coleta"))
                if await self._heading(page) != "Coleta cancelada":
                    raise PortalError(f"pickup {pickup.number}: the cancellation was not confirmed")
                cancelled.append(pickup.number)
        return cancelled


def _translate(exc: PlaywrightError, what: str) -> ProviderError:
    """A Playwright failure (timeout, element not found) as a retryable portal error: a
    slow page or a layout the bot does not know yet; ops see it past the deadline."""
    first = (exc.message or str(exc)).splitlines()[0][:300]
    return PortalError(f"the carrier portal bot could not {what}: {first}", code="page_failed")
