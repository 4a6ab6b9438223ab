"""The console's languages: pt-BR first, English available, the strings in one gettext
catalogue (api/locale/pt_BR/LC_MESSAGES/console.po, msgids in English) read with Babel
when first needed, so there is no compile step. A person's choice is a cookie; numbers,
money, times (America/Sao_Paulo) and NF-e keys are formatted for the language."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from functools import cache
from importlib.resources import files

from babel.messages.pofile import read_po

from api.console.names import (
    CORRECTION_STATUS_NAMES,
    DEADLINE_PREFIX,
    ERROR_NAMES,
    FINANCE_NAMES,
    STATUS_NAMES,
    STEP_NAMES,
)
from domain.station import LOCAL_TZ

LANG_COOKIE = "rtg_lang"
DEFAULT_LANG = "pt-BR"
LANGS = {"pt-BR": "Português", "en": "English"}
CATALOGUES = {"pt-BR": "pt_BR"}


@dataclass(frozen=True, slots=True)
class Language:
    code: str
    messages: dict[str, str]

    def gettext(self, message: str) -> str:
        return self.messages.get(message) or message

    def ngettext(self, singular: str, plural: str, n: int) -> str:
        return self.gettext(singular if n == 1 else plural)


def lang_of(value: str | None) -> str:
    return value if value in LANGS else DEFAULT_LANG


@cache
def language(code: str) -> Language:
    folder = CATALOGUES.get(lang_of(code))
    if folder is None:
        return Language(lang_of(code), {})
    po = files("api").joinpath("locale", folder, "LC_MESSAGES", "console.po")
    with po.open("rb") as handle:
        catalogue = read_po(handle)
    messages: dict[str, str] = {}
    for m in catalogue:
        if not m.id or not m.string or m.fuzzy:
            continue
        if isinstance(m.id, tuple | list):  # a plural: the singular's form and the plural's
            forms = [str(f) for f in m.string]
            messages[str(m.id[0])], messages[str(m.id[1])] = forms[0], forms[-1]
        else:
            messages[str(m.id)] = str(m.string)
    return Language(lang_of(code), messages)


def local_time(at: datetime | None, lang: str = DEFAULT_LANG, *, seconds: bool = False) -> str:
    """A moment on the seller's clock (America/Sao_Paulo): 02/12/2026 14:30 in pt-BR,
    2026-12-02 14:30 -03 in English."""
    if at is None:
        return ""
    local = at.astimezone(LOCAL_TZ)
    clock = "%H:%M:%S" if seconds else "%H:%M"
    if lang == "en":
        return local.strftime(f"%Y-%m-%d {clock} %z").removesuffix("00")
    return local.strftime(f"%d/%m/%Y {clock}")


def local_day(day: date | None, lang: str = DEFAULT_LANG) -> str:
    """A calendar day: 02/12/2026 in pt-BR, 2026-12-02 in English."""
    if day is None:
        return ""
    return day.isoformat() if lang == "en" else day.strftime("%d/%m/%Y")


DEADLINE = re.compile(r"still failing when the step's deadline passed \(([^)]*)\): ")


def recorded(message: str | None, words: Language) -> str:
    """A message a workflow recorded (history data, English): a known whole phrase, or
    the deadline prefix, in the reader's language; the rest exactly as recorded."""
    if not message:
        return ""
    said = words.gettext(message)
    if said != message:
        return said
    found = DEADLINE.match(message)
    if found is None:
        return message
    prefix = words.gettext(DEADLINE_PREFIX) % {"kind": found.group(1)}
    return prefix + recorded(message[found.end() :], words)


def number(value: int | float | Decimal, lang: str = DEFAULT_LANG, places: int = 0) -> str:
    text = f"{Decimal(str(value)):,.{places}f}"
    if lang == "en":
        return text
    return text.replace(",", "_").replace(".", ",").replace("_", ".")


def nfe_key(key: str | None) -> str:
    """An NF-e access key as printed on the DANFE: 11 groups of four digits."""
    if not key:
        return ""
    digits = re.sub(r"\D", "", key)
    return " ".join(digits[i : i + 4] for i in range(0, len(digits), 4))


def filters(lang: str) -> dict[str, Callable[..., str]]:
    words = language(lang)
    return {
        "local": lambda at, seconds=False: local_time(at, lang, seconds=seconds),
        "when": lambda at: local_time(at, lang, seconds=True),
        "num": lambda value, places=0: number(value, lang, places),
        "status_name": lambda code: words.gettext(STATUS_NAMES.get(str(code), str(code))),
        "step_name": lambda code: words.gettext(STEP_NAMES.get(str(code), str(code))),
        "error_name": lambda code: words.gettext(ERROR_NAMES.get(str(code), str(code))),
        "correction_status": lambda code: words.gettext(
            CORRECTION_STATUS_NAMES.get(str(code), str(code))
        ),
        "finance_name": lambda code: words.gettext(FINANCE_NAMES.get(str(code), str(code))),
        "recorded": lambda message: recorded(message, words),
        "day": lambda day: local_day(day, lang),
        # a Flash (or a bare msgid), in this language; plain text, so autoescaped
        "said": lambda flash: (
            flash.said(words.gettext) if hasattr(flash, "said") else words.gettext(str(flash))
        ),
    }
