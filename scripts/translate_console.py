"""Fill pt-BR translations into the console catalogue from a Python dict file
(msgid -> text): `python scripts/translate_console.py FILE.py`. Existing ones are kept
unless the file gives a new text."""

from __future__ import annotations

import runpy
import sys
from pathlib import Path

from babel.messages.pofile import read_po, write_po

PO = Path(__file__).resolve().parents[1] / "api/locale/pt_BR/LC_MESSAGES/console.po"


def main(source: str) -> int:
    texts: dict[str, str] = runpy.run_path(source)["PT"]
    with PO.open("rb") as handle:
        catalog = read_po(handle, locale="pt_BR", domain="console")
    for message in catalog:
        if isinstance(message.id, tuple) and message.id[0] in texts:
            one, many = texts[message.id[0]], texts[message.id[1]]
            message.string = (one, many, many)
        elif message.id and str(message.id) in texts:
            message.string = texts[str(message.id)]
    with PO.open("wb") as handle:
        write_po(handle, catalog, width=100, sort_output=True, ignore_obsolete=True)
    missing = [str(m.id) for m in catalog if m.id and not any(m.string or ())]
    for m in missing:
        print("untranslated:", m)  # noqa: T201
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
