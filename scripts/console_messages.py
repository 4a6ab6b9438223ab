"""Extract the console's messages (templates and api/console/*.py) and merge them into
the pt-BR catalogue, keeping what is translated: `python scripts/console_messages.py`.
New or changed msgids come out untranslated (shown in English) until translated in
api/locale/pt_BR/LC_MESSAGES/console.po; tests/unit/test_console_i18n.py lists them."""

from __future__ import annotations

import sys
from pathlib import Path

from babel.messages.catalog import Catalog
from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po, write_po

ROOT = Path(__file__).resolve().parents[1]
PO = ROOT / "api/locale/pt_BR/LC_MESSAGES/console.po"
METHODS = [("templates/**.html", "jinja2"), ("console/**.py", "python")]
KEYWORDS = {"_": None, "gettext": None, "N_": None, "ngettext": (1, 2), "say": (2,),
            "Problem": (2,), "allow": (2,)}  # fmt: skip
OPTIONS = {"templates/**.html": {"extensions": "jinja2.ext.i18n", "trim_blocks": "true"}}


def extracted() -> Catalog:
    catalog = Catalog(locale="pt_BR", project="retaguarda-console", domain="console")
    for filename, lineno, message, _comments, _context in extract_from_dir(
        ROOT / "api",
        METHODS,
        options_map=OPTIONS,
        keywords=KEYWORDS,
    ):
        catalog.add(message, locations=[(f"api/{filename}", lineno)])
    for text in runbook_texts():  # the runbook's rows are data, translated when shown
        catalog.add(text, locations=[("api/console/runbook.py", 0)])
    return catalog


def runbook_texts() -> list[str]:
    sys.path.insert(0, str(ROOT))
    from api.console.runbook import RUNBOOK, UNDO, UNKNOWN

    rows = [*RUNBOOK.values(), UNDO, UNKNOWN]
    return [text for row in rows for text in (row.means, row.to_do)]


def main() -> int:
    template = extracted()
    if PO.exists():
        with PO.open("rb") as handle:
            catalog = read_po(handle, locale="pt_BR", domain="console")
    else:
        catalog = Catalog(locale="pt_BR", domain="console")
    catalog.update(template, no_fuzzy_matching=True)
    PO.parent.mkdir(parents=True, exist_ok=True)
    with PO.open("wb") as handle:
        write_po(handle, catalog, width=100, sort_output=True, ignore_obsolete=True)
    missing = [m.id for m in catalog if m.id and not m.string]
    print(f"{len(catalog)} messages, {len(missing)} untranslated")  # noqa: T201
    return 0


if __name__ == "__main__":
    sys.exit(main())
