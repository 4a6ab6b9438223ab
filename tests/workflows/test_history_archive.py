"""Recorded histories are append-only: orders stay open for weeks, so every history ever
recorded must keep replaying. A history that changed or disappeared fails here, before
the replay test could silently stop covering it."""

from __future__ import annotations

import hashlib
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.workflows.conftest import HISTORIES, MANIFEST

pytestmark = pytest.mark.workflow

REPO = Path(__file__).resolve().parents[2]
APPEND_ONLY = (
    "recorded histories are append-only: put a command-changing workflow edit behind "
    "workflow.patched() and record new histories (RETAGUARDA_RECORD_HISTORIES=1) instead"
)


def manifest() -> dict[str, str]:
    entries: dict[str, str] = {}
    for line in MANIFEST.read_text(encoding="utf-8").splitlines():
        digest, _, name = line.partition("  ")
        assert name not in entries, f"{name} is listed twice in {MANIFEST.name}"
        entries[name] = digest
    return entries


def test_every_recorded_history_is_unchanged_and_still_there() -> None:
    for name, digest in manifest().items():
        path = HISTORIES / name
        assert path.exists(), f"{name} disappeared: {APPEND_ONLY}"
        assert hashlib.sha256(path.read_bytes()).hexdigest() == digest, (
            f"{name} changed: {APPEND_ONLY}"
        )


def test_every_history_file_is_in_the_manifest() -> None:
    listed = set(manifest())
    unlisted = sorted(p.name for p in HISTORIES.glob("*.json") if p.name not in listed)
    assert not unlisted, f"not in {MANIFEST.name} (the recorder appends them): {unlisted}"


def test_no_history_ever_committed_has_left_the_manifest() -> None:
    git = shutil.which("git")
    if git is None or not (REPO / ".git").exists():
        pytest.skip("not a git checkout: the manifest alone guards the archive")
    added = subprocess.run(
        [git, "log", "--diff-filter=A", "--name-only", "--format=", "--", str(HISTORIES)],
        cwd=REPO, capture_output=True, text=True, check=True,
    ).stdout.split()  # fmt: skip
    ever = {Path(p).name for p in added if p.endswith(".json")}
    assert ever, "git knows no recorded history: is this a shallow clone?"
    missing = sorted(ever - set(manifest()))
    assert not missing, f"committed once, now gone from {MANIFEST.name}: {missing}. {APPEND_ONLY}"
