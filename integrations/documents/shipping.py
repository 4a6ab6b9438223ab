"""The order's shipping documents: the label (the carrier's PDF, or ours when it supplied
none), the packing slip, and what a failed portal task left behind (a screenshot and a
Playwright trace), kept under `<documents dir>/shipping/<order>/`.

Names are fixed (`label.pdf`, `packing-slip.pdf`, `portal-<n>-screenshot.png`,
`portal-<n>-trace.zip`) and the order id is percent-encoded into one path segment, so a
name read from a URL cannot point anywhere else. Like the NF-e store, a document is
written once, atomically; writing the same name again keeps the first."""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import tempfile
from pathlib import Path
from urllib.parse import quote, unquote

from domain.errors import DomainError

LABEL, PACKING_SLIP = "label.pdf", "packing-slip.pdf"
_NAME = re.compile(r"(label\.pdf|packing-slip\.pdf|portal-\d{1,3}-(screenshot\.png|trace\.zip))")
MEDIA_TYPES = {".pdf": "application/pdf", ".png": "image/png", ".zip": "application/zip"}
_FILE_MODE = 0o640  # labels carry the customer's name and address


class InvalidShippingDocument(DomainError):
    def __init__(self, message: str) -> None:
        super().__init__(message, code="invalid_document_name")


def failure_names(attempt: int) -> dict[str, str]:
    """The names of a failed portal attempt's screenshot and trace."""
    n = max(1, min(attempt, 999))
    return {"screenshot.png": f"portal-{n}-screenshot.png", "trace.zip": f"portal-{n}-trace.zip"}


def parse_store_path(path: str) -> tuple[str, str]:
    """The order id and document name of `shipping/<order>/<name>`, a path as the store
    gives it; anything else raises InvalidShippingDocument."""
    top, folder, name = (path.split("/", 2) + ["", ""])[:3]
    order_id = unquote(folder)
    if top != "shipping" or "/" in name or quote(order_id, safe="") != folder:
        raise InvalidShippingDocument(f"not a shipping document's path: {path[:120]!r}")
    ShippingDocuments(Path(".")).path_of(order_id, name)  # the name and the order id
    return order_id, name


def media_type(name: str) -> str:
    return MEDIA_TYPES.get(Path(name).suffix, "application/octet-stream")


class ShippingDocuments:
    def __init__(self, root: Path) -> None:
        self.root = root / "shipping"

    def path_of(self, order_id: str, name: str) -> str:
        """The document's name in the store: `shipping/<order>/<name>`."""
        self._file(order_id, name)
        return f"shipping/{quote(order_id, safe='')}/{name}"

    def _file(self, order_id: str, name: str) -> Path:
        if not _NAME.fullmatch(name):
            raise InvalidShippingDocument(f"no shipping document is named {name[:80]!r}")
        folder = quote(order_id, safe="")
        if not order_id or unquote(folder) != order_id or len(folder) > 200:
            raise InvalidShippingDocument(f"not an order id: {order_id[:80]!r}")
        return self.root / folder / name

    async def put(self, order_id: str, name: str, data: bytes) -> str:
        target = self._file(order_id, name)
        await asyncio.to_thread(_write_once, target, data)
        return self.path_of(order_id, name)

    async def get(self, order_id: str, name: str) -> bytes | None:
        target = self._file(order_id, name)
        try:
            return await asyncio.to_thread(target.read_bytes)
        except FileNotFoundError:
            return None

    async def names(self, order_id: str) -> list[str]:
        folder = self._file(order_id, LABEL).parent
        if not folder.is_dir():
            return []
        return sorted(p.name for p in folder.iterdir() if _NAME.fullmatch(p.name))


def _write_once(target: Path, data: bytes) -> None:
    if target.exists():
        return
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, temp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as out:
            out.write(data)
            out.flush()
            os.fsync(out.fileno())
        os.chmod(temp, _FILE_MODE)
        os.replace(temp, target)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temp)
        raise
