"""The console says its refusals, the runbook's advice and what workflows recorded in the
reader's language (pt-BR first, English when chosen), all through the one catalogue."""

from __future__ import annotations

import importlib.util
import re
from datetime import date, timedelta
from pathlib import Path
from types import ModuleType

import pytest

from api.console import ErrorPage, Flash, OrderPage, render
from api.console.i18n import language, local_day, recorded
from api.console.runbook import FixPanel, advice
from api.console.session import Problem, Session
from api.console.views import say
from db.api_keys import ApiPrincipal, ApiRole
from domain.attention import StepFailure
from domain.orders import OrderStatus
from tests.unit.test_console_order_page import state
from tests.unit.test_console_render import NOW, chrome, view

pytestmark = pytest.mark.unit
PLACEHOLDER = re.compile(r"%\((\w+)\)s")


def console_messages() -> ModuleType:
    path = Path(__file__).resolve().parents[2] / "scripts" / "console_messages.py"
    spec = importlib.util.spec_from_file_location("console_messages", path)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def parcel_lost() -> OrderPage:
    failure = StepFailure(
        step="shipping_incident",
        error_type="ParcelLost",
        message="Correios AA123456789BR: the carrier reports the parcel lost",
        attempts=1,
        at=NOW - timedelta(minutes=3),
    )
    live = state().model_copy(update={"failure": failure, "status": OrderStatus.SHIPPED})
    fix = FixPanel(advice(failure.step, failure.error_type), (), "n1")
    return OrderPage(chrome(ApiRole.OPS), view(stuck_step=failure.step), live, fix=fix)


def in_language(page: OrderPage, lang: str, flash: Flash | None = None) -> str:
    return render(OrderPage(chrome(ApiRole.OPS, flash, lang=lang), page.order, page.live,
                            fix=page.fix))  # fmt: skip


def test_a_flash_and_the_runbook_advice_are_pt_br_by_default_and_english_when_chosen() -> None:
    page = parcel_lost()
    flash = say("error", "Compensate needs a reason (3 characters or more).")
    portuguese, english = in_language(page, "pt-BR", flash), in_language(page, "en", flash)
    assert "Compensar exige um motivo" in portuguese
    assert "Compensate needs a reason (3 characters or more)." in english
    assert "há uma reclamação aberta pelo valor declarado" in portuguese
    assert "a claim for its declared value is open" in english
    assert "Volume extraviado, avariado ou devolvido" in portuguese  # the step by name
    assert "<b>Volume extraviado</b>" in portuguese  # the error type by name, code beside
    assert "<b>Parcel lost</b>" in english
    assert "Reenviar" in portuguese
    assert "Ship again" in english


def test_a_recorded_message_keeps_its_words_under_a_label_unless_it_is_a_known_phrase() -> None:
    html = in_language(parcel_lost(), "pt-BR")
    assert "Mensagem registrada" in html
    assert "Correios AA123456789BR: the carrier reports the parcel lost" in html  # as recorded
    words = language("pt-BR")
    overdue = "the carrier has not reported delivery within the delivery window"
    assert recorded(overdue, words) == (
        "a transportadora não informou a entrega dentro do prazo de entrega"
    )
    late = "still failing when the step's deadline passed (START_TO_CLOSE): SEFAZ 500"
    assert recorded(late, words) == (
        "ainda falhando quando o prazo da etapa venceu (START_TO_CLOSE): SEFAZ 500"
    )
    assert recorded(late, language("en")) == late


def test_a_refusal_page_says_the_role_and_the_action_in_the_readers_language() -> None:
    session = Session(ApiPrincipal("wanda", ApiRole.WAREHOUSE), "key")
    with pytest.raises(Problem) as refused:
        session.allow(frozenset({ApiRole.FINANCE}), "see the books")
    page = ErrorPage(None, 403, "Not allowed", refused.value.flash)
    assert "Seu papel (warehouse) não pode ver as finanças; é preciso um destes: finance." in (
        render(page)
    )
    english = render(ErrorPage(None, 403, "Not allowed", refused.value.flash, "en"))
    assert "Your role (warehouse) cannot see the books; it needs one of: finance." in english


def test_days_read_as_the_seller_writes_them() -> None:
    assert local_day(date(2026, 12, 2)) == "02/12/2026"
    assert local_day(date(2026, 12, 2), "en") == "2026-12-02"


def test_every_message_in_python_and_templates_has_a_translation_with_the_same_values() -> None:
    used = {
        str(i) for m in console_messages().extracted() if m.id
        for i in (m.id if isinstance(m.id, tuple) else (m.id,))
    }  # fmt: skip
    # the Python refusals are extracted too: a Problem's msgid and the action `allow` names
    assert "Your role (%(role)s) cannot %(doing)s; it needs one of: %(roles)s." in used
    assert "see the books" in used
    assert "There is no product %(sku)s." in used
    assert "Address corrected; %(result)s (%(who)s)." in used  # a flash written in Python
    words = language("pt-BR")
    missing = sorted(m for m in used if m not in words.messages)
    assert missing == [], "run scripts/console_messages.py and translate these"
    lost = [m for m in used if set(PLACEHOLDER.findall(m)) != set(PLACEHOLDER.findall(
        words.messages[m]))]  # fmt: skip
    assert lost == [], "these translations lose or add a %(value)s"
