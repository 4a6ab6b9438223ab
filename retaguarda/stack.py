"""The embedded stack: Temporal dev server (SQLite file under var/), sandbox, API and a
worker per task queue that has steps, each its own process, stopped together."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from config.settings import Settings
from config.temporal import search_attribute_flags
from workers import queues_to_run
from workflows.steps import Queue

BIN = Path(sys.executable).parent
STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)


class StackError(RuntimeError):
    pass


@dataclass
class Stack:
    settings: Settings
    env: dict[str, str] = field(default_factory=dict)  # wins over the environment
    defaults: dict[str, str] = field(default_factory=dict)  # loses to the environment
    processes: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)
    commands: dict[str, list[str]] = field(default_factory=dict)

    @property
    def log_dir(self) -> Path:
        return self.settings.var_dir / "logs"

    def _spawn(self, name: str, args: list[str]) -> None:
        self.log_dir.mkdir(parents=True, exist_ok=True)
        env = {**self.defaults, **os.environ, **self.env}
        with (self.log_dir / f"{name}.log").open("ab") as log:
            self.processes[name] = subprocess.Popen(
                args, stdout=log, stderr=subprocess.STDOUT, env=env, start_new_session=True
            )
        self.commands[name] = args

    def kill(self, name: str) -> None:
        """SIGKILL a process (and its children): no shutdown, no goodbye."""
        proc = self.processes[name]
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()

    def respawn(self, name: str) -> None:
        """Start a process again with the command it was first started with."""
        self._spawn(name, self.commands[name])

    def exited(self) -> list[str]:
        """The processes that are no longer running."""
        return sorted(n for n, p in self.processes.items() if p.poll() is not None)

    def start(self) -> None:
        from db.migrate import upgrade_sync

        s = self.settings
        s.var_dir.mkdir(parents=True, exist_ok=True)
        upgrade_sync(s.database_url)
        host, _, port = s.temporal.address.rpartition(":")
        self._spawn("temporal", temporal_command(s))
        wait_for_port(host or "127.0.0.1", int(port), "Temporal", self)
        cli = [sys.executable, "-m", "retaguarda"]
        self._spawn("sandbox", [*cli, "sandbox"])
        self._spawn("api", [*cli, "api"])
        for queue in queues_to_run():
            self._spawn(worker_name(queue), [*cli, "worker", "--queue", queue.value])
        wait_for_http(f"{s.sandbox.url}/health", "sandbox", self)
        wait_for_http(f"{s.api.url}/health", "API", self)

    def check_alive(self) -> None:
        for name, proc in self.processes.items():
            if proc.poll() is not None:
                raise StackError(
                    f"{name} exited with code {proc.returncode}; see {self.log_dir / name}.log"
                )

    def stop(self) -> None:
        """Stop every process; a second Ctrl-C while stopping cannot leave orphans."""
        if threading.current_thread() is not threading.main_thread():
            self._stop()
            return
        previous = {sig: signal.signal(sig, signal.SIG_IGN) for sig in STOP_SIGNALS}
        try:
            self._stop()
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler)

    def _stop(self) -> None:
        """In order, each waited for: the worker first (its graceful shutdown talks to
        Temporal), the Temporal server last."""
        workers = [n for n in self.processes if n.startswith("worker")]
        for name in (*workers, "api", "sandbox", "temporal"):
            proc = self.processes.pop(name, None)
            if proc is None:
                continue
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGTERM)
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()


def temporal_command(settings: Settings, *, ui: bool = True, log_level: str = "warn") -> list[str]:
    """The Temporal dev server persisting to `var/temporal.db`, with our search attributes.
    WAL journal with `synchronous=normal`: a killed server loses no committed write (the
    WAL is in the OS's hands), and each write costs no fsync; only a power cut could
    lose the last moments, which the embedded stack accepts (production runs a cluster
    on PostgreSQL)."""
    host, _, port = settings.temporal.address.rpartition(":")
    display = ["--ui-port", str(settings.temporal.ui_port)] if ui else ["--headless"]
    if ui:  # the UI decodes payloads through the API for signed-in ops (api/routes/codec.py)
        display += ["--ui-codec-endpoint", f"{settings.api.url}/codec"]
    return [
        str(BIN / "temporal"), "server", "start-dev",
        "--db-filename", str((settings.var_dir / "temporal.db").resolve()),
        "--sqlite-pragma", "journal_mode=wal", "--sqlite-pragma", "synchronous=normal",
        "--ip", host or "127.0.0.1", "--port", port, *display,
        "--namespace", settings.temporal.namespace,
        "--log-level", log_level,
        *search_attribute_flags(),
    ]  # fmt: skip


def worker_name(queue: Queue) -> str:
    """The process (and log file) name of a queue's worker: `worker` for orders."""
    return "worker" if queue is Queue.ORDERS else f"worker-{queue.value}"


def wait_for_port(host: str, port: int, what: str, stack: Stack, timeout_s: float = 60) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        stack.check_alive()
        with socket.socket() as sock:
            sock.settimeout(0.5)
            if sock.connect_ex((host, port)) == 0:
                return
        time.sleep(0.2)
    raise StackError(f"{what} did not open {host}:{port} within {timeout_s:g} s")


def wait_for_http(url: str, what: str, stack: Stack, timeout_s: float = 90) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        stack.check_alive()
        try:
            if httpx.get(url, timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.3)
    raise StackError(f"{what} did not answer {url} within {timeout_s:g} s")


def is_up(settings: Settings) -> bool:
    try:
        return httpx.get(f"{settings.api.url}/health", timeout=2).status_code == 200
    except httpx.HTTPError:
        return False


@contextmanager
def running_stack(
    settings: Settings,
    env: dict[str, str] | None = None,
    defaults: dict[str, str] | None = None,
) -> Iterator[Stack]:
    stack = Stack(settings, env or {}, defaults or {})
    try:
        stack.start()
        yield stack
    finally:
        stack.stop()
