"""Free text as the NF-e string type takes it (pure): Latin-1 only, no control
characters, single spaces, trimmed. Accents stay; emoji and typographic dashes do not.
Rules that count characters (the CC-e's 15 to 1000) count this, what is sent."""

from __future__ import annotations

import re
import unicodedata

_TYPOGRAPHY = str.maketrans(
    {
        "\u2013": "-",
        "\u2014": "-",
        "\u2018": "'",
        "\u2019": "'",
        "\u201c": '"',
        "\u201d": '"',
        "\u2026": "...",
    }
)
_SPACES = re.compile(r"[\x00-\x1f\x7f-\x9f\s]+")


def _ascii(ch: str) -> str:
    return unicodedata.normalize("NFKD", ch).encode("ascii", "ignore").decode()


def folded(value: str) -> str:
    """The text an NF-e field would carry, before any length limit ("" when nothing
    printable is left)."""
    value = unicodedata.normalize("NFC", value).translate(_TYPOGRAPHY)
    value = "".join(ch if ord(ch) < 256 else _ascii(ch) for ch in value)
    return _SPACES.sub(" ", value).strip()


def text(value: str, max_length: int) -> str:
    """Fit free text to an NF-e field of `max_length` ("-" when nothing is left)."""
    return folded(value)[:max_length].rstrip() or "-"
