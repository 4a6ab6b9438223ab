"""Every file path the docs name exists: a reader following docs/*.md or the README must
not land on a file that moved. Runtime folders made by the stack (var/, .venv/) and URL
paths (starting with /) are not repository paths."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

pytestmark = pytest.mark.unit

REPO = Path(__file__).resolve().parents[2]
DOCS = sorted((REPO / "docs").glob("*.md")) + [REPO / "README.md"]
GENERATED = ("var/", ".venv/")
TOP = {p.name for p in REPO.iterdir()} | {"..", "."}
PATHLIKE = re.compile(
    r"^(?:\.\./)?[\w.*-]+(?:/[\w.*-]*)+$|^[\w-]+\.(?:py|md|toml|yml|yaml|sql|sh|html|ini)$"
)
CODE = re.compile(r"`([^`\s]+)`")
LINK = re.compile(r"\]\(([^)\s#]+)(?:#[^)]*)?\)")


def named_paths(doc: Path) -> list[tuple[str, Path]]:
    text = doc.read_text(encoding="utf-8")
    found: list[tuple[str, Path]] = []
    for token in CODE.findall(text):
        if PATHLIKE.match(token) and token.split("/")[0] in TOP and not token.startswith(GENERATED):
            found.append((token, REPO / token))
    for target in LINK.findall(text):
        if "://" not in target and not target.startswith("/"):
            found.append((target, (doc.parent / target)))
    return found


@pytest.mark.parametrize("doc", DOCS, ids=[d.name for d in DOCS])
def test_every_path_a_doc_names_exists(doc: Path) -> None:
    missing = [
        name for name, path in named_paths(doc)
        if not (list(path.parent.glob(path.name)) if "*" in name else path.exists())
    ]  # fmt: skip
    assert not missing, f"{doc.relative_to(REPO)} names paths that do not exist: {missing}"


def test_the_docs_do_name_paths() -> None:
    assert sum(len(named_paths(d)) for d in DOCS) > 20  # the check is not vacuous
