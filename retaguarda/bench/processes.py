"""The processes a benchmark needs, on free ports and a var dir of its own: a Temporal dev
server persisting to SQLite (as `retaguarda up` runs it) and `retaguarda api`."""

from __future__ import annotations

import os
import socket
import sys
from pathlib import Path

from config.settings import ApiSettings, DatabaseSettings, Settings, TemporalSettings
from retaguarda.stack import Stack, temporal_command, wait_for_http, wait_for_port


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def bench_settings(base: Settings, var_dir: Path, db_url: str = "") -> Settings:
    """`base` moved to its own var dir and free loopback ports."""
    return base.model_copy(
        update={
            "var_dir": var_dir,
            "db": DatabaseSettings(url=db_url),
            "api": ApiSettings(host="127.0.0.1", port=free_port()),
            "temporal": base.temporal.model_copy(
                update={"address": f"127.0.0.1:{free_port()}", "ui_port": free_port()}
            ),
        }
    )


def child_env(settings: Settings, extra: dict[str, str] | None = None) -> dict[str, str]:
    """What the API process must be told so it finds the benchmark's stack, not the default."""
    temporal: TemporalSettings = settings.temporal
    env = {
        "RETAGUARDA_VAR_DIR": str(settings.var_dir),
        "RETAGUARDA_API__HOST": settings.api.host,
        "RETAGUARDA_API__PORT": str(settings.api.port),
        "RETAGUARDA_API__PUBLIC_URL": "",
        "RETAGUARDA_TEMPORAL__ADDRESS": temporal.address,
        "RETAGUARDA_TEMPORAL__NAMESPACE": temporal.namespace,
        "RETAGUARDA_DB__URL": settings.db.url,
        "RETAGUARDA_LOG_LEVEL": os.environ.get("RETAGUARDA_LOG_LEVEL", "WARNING"),
    }
    return {**env, **(extra or {})}


def start(settings: Settings, extra_env: dict[str, str] | None = None) -> Stack:
    """Migrate the database, start Temporal then the API; the caller stops the stack."""
    from db.migrate import upgrade_sync

    settings.var_dir.mkdir(parents=True, exist_ok=True)
    upgrade_sync(settings.database_url)
    stack = Stack(settings, env=child_env(settings, extra_env))
    host, _, port = settings.temporal.address.rpartition(":")
    try:
        stack._spawn("temporal", temporal_command(settings, ui=False, log_level="error"))
        wait_for_port(host, int(port), "Temporal", stack)
        stack._spawn("api", [sys.executable, "-m", "retaguarda", "api"])
        wait_for_http(f"{settings.api.url}/health", "API", stack)
    except BaseException:
        stack.stop()
        raise
    return stack


def cpu_seconds(pid: int) -> float | None:
    """User + system CPU time of a process so far (Linux /proc); None elsewhere."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    ticks = os.sysconf("SC_CLK_TCK")
    return (int(fields[11]) + int(fields[12])) / ticks
