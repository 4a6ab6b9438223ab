"""`retaguarda`: the command line (typer + rich). Stable commands: up, demo, audit, ops,
documents, reconcile; plus the process entry points api, worker, sandbox and db."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import sys
import time
from pathlib import Path
from typing import Annotated, Any

import httpx
import typer
from rich.console import Console
from rich.table import Table

from config import logs
from config.settings import Settings
from workflows.steps import Queue

app = typer.Typer(no_args_is_help=True, add_completion=False, help=__doc__)
ops_app = typer.Typer(no_args_is_help=True, help="Stuck orders and ops decisions.")
db_app = typer.Typer(no_args_is_help=True, help="Database migrations.")
bench_app = typer.Typer(no_args_is_help=True, help="Benchmarks (method in docs/BENCHMARKS.md).")
documents_app = typer.Typer(no_args_is_help=True, help="The NF-e document store.")
reconcile_app = typer.Typer(
    no_args_is_help=True, help="Nightly reconciliations, run now for one day."
)
app.add_typer(reconcile_app, name="reconcile")
app.add_typer(ops_app, name="ops")
app.add_typer(db_app, name="db")
app.add_typer(bench_app, name="bench")
app.add_typer(documents_app, name="documents")
console = Console(stderr=True)


def _settings() -> Settings:
    return Settings()


# ------------------------------------------------------------------ processes
@app.command()
def up(
    demo: Annotated[bool, typer.Option(help="drive demo traffic once the stack is up")] = False,
    orders: Annotated[int, typer.Option(help="demo orders to place")] = 20,
    faults: Annotated[float, typer.Option(help="sandbox fault rate 0..1")] = 0.05,
) -> None:
    """Run the embedded stack (Temporal dev server, sandbox, API, worker) until Ctrl-C."""
    from retaguarda.demo import DEMO_ENV, run_demo
    from retaguarda.stack import running_stack

    settings = _settings()
    env = {"RETAGUARDA_SANDBOX__FAULT_RATE": str(faults)} if demo else {}
    with running_stack(settings, env, defaults=DEMO_ENV if demo else None) as stack:
        _print_urls(settings)
        if demo:
            summary = run_demo(settings, orders=orders, faults=faults, seed=42)
            _print_summary(summary)
        console.print("[bold]Stack running.[/] Ctrl-C stops everything.")
        stop = False

        def _stop(*_: Any) -> None:
            nonlocal stop
            stop = True

        signal.signal(signal.SIGTERM, _stop)
        try:
            while not stop:
                stack.check_alive()
                time.sleep(1)
        except KeyboardInterrupt:
            pass
        console.print("stopping…")


def _print_urls(settings: Settings) -> None:
    table = Table(title="Retaguarda is up", show_header=False)
    table.add_row("Ops console", f"{settings.api.url}/console")
    table.add_row("API docs (OpenAPI)", f"{settings.api.url}/docs")
    table.add_row("Temporal UI", f"http://127.0.0.1:{settings.temporal.ui_port}")
    table.add_row("Sandbox", f"{settings.sandbox.url}/docs")
    table.add_row("Admin API key (local)", settings.secrets.bootstrap_admin_key.get_secret_value())
    table.add_row("Logs", str(settings.var_dir / "logs"))
    Console().print(table)


@app.command()
def api() -> None:
    """Serve the HTTP API (webhooks, orders, warehouse, ops)."""
    import uvicorn

    from api.app import create_app

    settings = _settings()
    logs.configure(settings.log_level)
    uvicorn.run(
        create_app(settings), host=settings.api.host, port=settings.api.port, log_level="warning"
    )


@app.command()
def worker(
    queue: Annotated[
        Queue, typer.Option(help="the task queue to serve: orders, rpa or finance")
    ] = Queue.ORDERS,
) -> None:
    """Run one queue's worker (orders: the workflows and their light steps; rpa: the
    portal bots; finance: reconciliation)."""
    from workers import runner

    settings = _settings()
    logs.configure(settings.log_level)
    try:
        asyncio.run(runner(queue)(settings, None))
    except RuntimeError as exc:
        console.print(f"[red]{exc}[/]")
        raise typer.Exit(2) from exc


@app.command()
def sandbox() -> None:
    """Serve the simulated outside world (channels, SEFAZ, carrier, payments)."""
    import uvicorn

    from retaguarda.sandbox_config import sandbox_config
    from sandbox.app import create_sandbox_app

    settings = _settings()
    logs.configure(settings.log_level)
    uvicorn.run(
        create_sandbox_app(sandbox_config(settings)),
        host=settings.sandbox.host,
        port=settings.sandbox.port,
        log_level="warning",
    )


@db_app.command("upgrade")
def db_upgrade() -> None:
    """Apply migrations up to the latest."""
    _migrate(_settings())
    console.print("database is up to date")


def _migrate(settings: Settings) -> None:
    from db.migrate import upgrade_sync

    settings.var_dir.mkdir(parents=True, exist_ok=True)
    upgrade_sync(settings.database_url)


@app.command("apikey")
def apikey(
    name: str,
    role: Annotated[str, typer.Option(help="admin|ops|warehouse|finance|viewer")] = "viewer",
) -> None:
    """Create an API key (printed once; only its hash is stored)."""
    from db.api_keys import ApiKeyRepository, ApiRole, checked_name
    from db.session import create_engine, create_sessionmaker
    from domain.errors import DomainError

    try:
        checked_name(name)
        kind = ApiRole(role)
    except DomainError as exc:
        console.print(f"[red]{exc.message}[/]")
        raise typer.Exit(2) from exc
    except ValueError as exc:
        console.print(f"[red]unknown role {role!r}: use one of {', '.join(ApiRole)}[/]")
        raise typer.Exit(2) from exc

    async def _create() -> str:
        engine = create_engine(_settings().database_url)
        try:
            return await ApiKeyRepository(create_sessionmaker(engine)).create(name, kind)
        finally:
            await engine.dispose()

    print(asyncio.run(_create()))


# ------------------------------------------------------------------ demo, audit
@app.command()
def demo(
    orders: Annotated[int, typer.Option(min=1, help="orders to place")] = 50,
    faults: Annotated[float, typer.Option(min=0.0, max=1.0, help="transient fault rate")] = 0.1,
    seed: Annotated[int, typer.Option(help="seed of the demo world and of the faults")] = 42,
    as_json: Annotated[bool, typer.Option("--json", help="print the summary as JSON")] = False,
    timeout: Annotated[float, typer.Option(help="seconds to wait for every order")] = 900,
) -> None:
    """Drive the demo world until every order is terminal; uses a running stack or starts
    (and stops) the embedded one."""
    from retaguarda.demo import run_demo_cli

    summary = run_demo_cli(_settings(), orders=orders, faults=faults, seed=seed, timeout=timeout)
    if as_json:
        print(json.dumps(summary, default=str))
    else:
        _print_summary(summary)
    if summary.get("not_terminal"):
        raise typer.Exit(1)


def _print_summary(summary: dict[str, Any]) -> None:
    out = Console()
    table = Table(title="Demo summary")
    table.add_column("what")
    table.add_column("value", justify="right")
    for status, count in sorted(summary.get("statuses", {}).items()):
        table.add_row(f"orders {status}", str(count))
    for phase, stats in summary.get("phases", {}).items():
        table.add_row(f"{phase} p50 / p90 (s)", f"{stats['p50']:.1f} / {stats['p90']:.1f}")
    for kind, count in sorted(summary.get("faults_injected", {}).items()):
        table.add_row(f"fault {kind}", str(count))
    table.add_row("elapsed (s)", f"{summary.get('elapsed_s', 0):.1f}")
    out.print(table)


@app.command()
def chaos(
    orders: Annotated[int, typer.Option(min=1, help="orders to place")] = 40,
    faults: Annotated[float, typer.Option(min=0.0, max=1.0, help="transient fault rate")] = 0.2,
    seed: Annotated[int, typer.Option(help="seed of the world, the faults and the kills")] = 42,
    worker_kills: Annotated[int, typer.Option(min=0, help="SIGKILLs of the orders worker")] = 2,
    server_restarts: Annotated[
        int, typer.Option(min=0, help="SIGKILLs and restarts of the Temporal dev server")
    ] = 1,
    api_kills: Annotated[int, typer.Option(min=0, help="SIGKILLs of the API")] = 0,
    as_json: Annotated[bool, typer.Option("--json", help="print the result as JSON")] = False,
    timeout: Annotated[float, typer.Option(help="seconds to wait for every order")] = 1800,
) -> None:
    """The demo under process kills, on a stack of its own, then the live audit; exit 1
    unless every order is terminal and the audit passes."""
    from retaguarda.chaos import run_chaos
    from retaguarda.stack import StackError

    try:
        result = run_chaos(
            _settings(), orders=orders, faults=faults, seed=seed, worker_kills=worker_kills,
            server_restarts=server_restarts, api_kills=api_kills, timeout=timeout,
        )  # fmt: skip
    except StackError as exc:
        console.print(f"[red]{exc}[/]")
        raise typer.Exit(2) from exc
    if as_json:
        print(json.dumps(result, default=str))
    else:
        out = Console()
        for key in ("orders", "terminal", "needs_attention", "worker_kills", "api_kills",
                    "server_restarts", "audit_ok", "elapsed_s"):  # fmt: skip
            out.print(f"{key}: {result[key]}")
        for violation in result["violations"][:20]:
            out.print(f"  - {violation}")
    if result["terminal"] != result["orders"] or not result["audit_ok"]:
        raise typer.Exit(1)


@app.command()
def audit(
    as_json: Annotated[bool, typer.Option("--json")] = False,
    live: Annotated[
        bool, typer.Option(help="also ask each order workflow what it knows (stack up)")
    ] = False,
) -> None:
    """Cross-check the database against the sandbox ledger; exit 1 on any violation."""
    from retaguarda.audit import run_audit

    report = asyncio.run(run_audit(_settings(), live=live))
    if as_json:
        print(json.dumps(report, default=str))
    else:
        out = Console()
        for check in report["checks"]:
            mark = "[green]ok[/]" if check["ok"] else "[red]FAIL[/]"
            out.print(f"{mark} {check['name']}: {check['detail']}")
            for violation in check["violations"][:20]:
                out.print(f"    - {violation}")
    if not report["ok"]:
        raise typer.Exit(1)


@documents_app.command("check")
def documents_check(
    as_json: Annotated[bool, typer.Option("--json")] = False,
    directory: Annotated[
        Path | None, typer.Option("--dir", help="the store (default: RETAGUARDA_DOCUMENTS__DIR)")
    ] = None,
) -> None:
    """Check every stored NF-e document: XSD, signature (xmlsec1), DANFE showing its key;
    exit 1 on any failure."""
    from retaguarda.documents_check import XmlsecMissing, check_documents

    root = directory or _settings().documents_dir
    if not root.is_dir():
        console.print(f"[red]no document store at {root} (RETAGUARDA_DOCUMENTS__DIR, --dir)[/]")
        raise typer.Exit(1)
    try:
        report = check_documents(root)
    except XmlsecMissing as exc:
        console.print(f"[red]{exc.message}[/]")
        raise typer.Exit(2) from exc
    if as_json:
        print(json.dumps(report.as_dict()))
    else:
        _print_documents(report.as_dict())
    if not report.ok:
        raise typer.Exit(1)


def _print_documents(report: dict[str, Any]) -> None:
    out = Console()
    out.print(f"document store: {report['root']}", markup=False, highlight=False)
    table = Table()
    for col in ("kind", "checked", "failed"):
        table.add_column(col, justify="left" if col == "kind" else "right")
    for kind, count in report["counts"].items():
        if count["checked"] or kind != "unknown":
            table.add_row(kind, str(count["checked"]), str(count["failed"]))
    out.print(table)
    for failure in report["failures"]:
        out.print(f"[red]FAIL[/] {failure['path']}")
        for problem in failure["problems"]:
            out.print(f"    - {problem}", markup=False, highlight=False)
    total = sum(c["checked"] for c in report["counts"].values())
    if report["ok"]:
        out.print(f"[green]ok[/]: {total} file(s) checked" + ("" if total else ", none stored"))
    else:
        out.print(f"[red]{len(report['failures'])} of {total} file(s) failed[/]")


# ------------------------------------------------------------------ ops
def _api(method: str, path: str, body: dict[str, Any] | None = None, *, timeout: float = 40) -> Any:
    settings = _settings()
    key = os.environ.get("RETAGUARDA_API_KEY") or (
        settings.secrets.bootstrap_admin_key.get_secret_value()
    )
    try:
        response = httpx.request(
            method,
            f"{settings.api.url}{path}",
            json=body,
            headers={"X-API-Key": key},
            timeout=timeout,
        )
    except httpx.HTTPError as exc:
        console.print(f"[red]cannot reach the API at {settings.api.url}: {exc}[/]")
        raise typer.Exit(2) from exc
    if response.status_code >= 400:
        try:
            message = response.json().get("message", response.text)
        except ValueError:
            message = response.text
        console.print(f"[red]{response.status_code}: {message}[/]")
        raise typer.Exit(1)
    return response.json()


@ops_app.command("stuck")
def ops_stuck(as_json: Annotated[bool, typer.Option("--json")] = False) -> None:
    """Orders waiting for an ops decision, with the step and the error."""
    rows = _api("GET", "/ops/stuck")
    if as_json:
        print(json.dumps(rows))
        return
    table = Table(title=f"{len(rows)} stuck order(s)")
    for col in ("order", "status", "step", "error"):
        table.add_column(col)
    for row in rows:
        failure = row.get("failure") or {}
        table.add_row(
            row["order_id"], row["status"], row.get("stuck_step") or "",
            f"{failure.get('error_type', '')}: {failure.get('message', '')}",
        )  # fmt: skip
    Console().print(table)


@ops_app.command("retry")
def ops_retry(order_id: str, reason: str = "") -> None:
    """Run the stuck step again."""
    print(_api("POST", f"/ops/orders/{order_id}/retry", {"reason": reason})["result"])


@ops_app.command("skip")
def ops_skip(
    order_id: str,
    data: Annotated[str, typer.Option(help="the step's result as JSON, e.g. the invoice")] = "{}",
    reason: str = "",
) -> None:
    """Skip the stuck step, giving its result obtained by hand."""
    try:
        parsed = json.loads(data)
    except json.JSONDecodeError as exc:
        console.print(f"[red]--data is not valid JSON: {exc}[/]")
        raise typer.Exit(2) from exc
    body = {"reason": reason, "data": parsed}
    print(_api("POST", f"/ops/orders/{order_id}/skip", body)["result"])


@ops_app.command("compensate")
def ops_compensate(
    order_id: str, reason: Annotated[str, typer.Option(help="why the order is undone")]
) -> None:
    """Give up on the order: undo its completed steps in reverse."""
    print(_api("POST", f"/ops/orders/{order_id}/compensate", {"reason": reason})["result"])


@ops_app.command("reship")
def ops_reship(order_id: str, reason: str = "") -> None:
    """A lost or damaged parcel: book a replacement (its claim stays open)."""
    print(_api("POST", f"/ops/orders/{order_id}/reship", {"reason": reason})["result"])


@ops_app.command("restock")
def ops_restock(order_id: str, reason: str = "") -> None:
    """A parcel returned to the sender: its items back to stock, the order closed."""
    body = {"reason": reason}
    print(_api("POST", f"/ops/orders/{order_id}/return_to_stock", body)["result"])


@ops_app.command("cancel")
def ops_cancel(order_id: str, reason: Annotated[str, typer.Option()]) -> None:
    """Cancel an order that is not stuck (before it leaves the warehouse)."""
    print(_api("POST", f"/ops/orders/{order_id}/cancel", {"reason": reason})["result"])


@ops_app.command("correct")
def ops_correct(
    order_id: str,
    text: Annotated[str, typer.Option(help="the correction (15-1000 characters)")],
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """Send a correction letter (CC-e) for the order's NF-e. It replaces earlier ones, so
    repeat what still holds; values, parties and dates cannot be corrected."""
    answer = _api("POST", f"/orders/{order_id}/invoice/corrections", {"text": text})
    if as_json:
        print(json.dumps(answer))
        return
    if answer["status"] == "sending":
        print(f"sending: SEFAZ has not answered yet (workflow {answer['workflow_id']})")
        return
    print(f"CC-e {answer['sequence']} {answer['status']}: protocol {answer['protocol']}")


# ------------------------------------------------------------------ reconcile
DateOption = Annotated[
    str, typer.Option("--date", help="the day to reconcile, YYYY-MM-DD (default: today)")
]


def _reconcile(kind: str, day: str, as_json: bool) -> None:
    from datetime import date

    if day:
        try:
            date.fromisoformat(day)
        except ValueError as exc:
            console.print(f"[red]--date must be YYYY-MM-DD, got {day!r}[/]")
            raise typer.Exit(2) from exc
    query = f"?date={day}" if day else ""
    answer = _api("POST", f"/finance/reconciliations/{kind}{query}", timeout=130)
    summary = {k: answer[k] for k in ("date", "lines", "classified", "alerts", "status")}
    summary["workflow_id"] = answer["workflow_id"]
    if answer["status"] != "done":  # where and why it waits for a person, if it does
        summary.update({k: answer.get(k, "") for k in ("waiting_at", "reason")})
    if as_json:
        print(json.dumps(summary))
    else:
        table = Table(title=f"{kind} reconciliation {answer['date']} ({answer['status']})")
        table.add_column("class")
        table.add_column("lines", justify="right")
        for cls, count in answer["classified"].items():
            table.add_row(cls, str(count))
        table.add_row("[bold]total[/]", str(answer["lines"]))
        Console().print(table)
    if answer["status"] != "done":
        if answer.get("waiting_at"):
            console.print(
                f"[yellow]waits for a person at {answer['waiting_at']}[/]: {answer['reason']}\n"
                f"fix the cause, then: retaguarda reconcile decide {kind} retry "
                f"--date {answer['date']} (or skip, for a portal download)"
            )
        else:
            console.print(f"still running: workflow {answer['workflow_id']}")
        raise typer.Exit(3)


@reconcile_app.command("decide")
def reconcile_decide(
    kind: Annotated[str, typer.Argument(help="marketplace or bank")],
    action: Annotated[str, typer.Argument(help="retry, or skip (a portal download only)")],
    day: DateOption = "",
    reason: Annotated[str, typer.Option(help="why, for the audit log")] = "",
) -> None:
    """Retry or skip the step a night waits at for a person (role finance)."""
    from datetime import UTC, datetime

    from domain.receivables import business_day

    if kind not in ("marketplace", "bank") or action not in ("retry", "skip"):
        console.print("[red]usage: reconcile decide marketplace|bank retry|skip --date D[/]")
        raise typer.Exit(2)
    night = day or business_day(datetime.now(UTC), _settings().finance.timezone).isoformat()
    answer = _api(
        "POST", f"/finance/reconciliations/{kind}/{night}/decision",
        body={"action": action, "reason": reason},
    )  # fmt: skip
    console.print(f"{answer['workflow_id']}: {answer['answer']}")


@reconcile_app.command("marketplace")
def reconcile_marketplace(
    day: DateOption = "",
    as_json: Annotated[bool, typer.Option("--json", help="print the summary as JSON")] = False,
) -> None:
    """The payment provider's release report against our receivables: every line
    classified (matched, fee or amount divergence, missing or unexpected payout,
    chargeback, anticipated)."""
    _reconcile("marketplace", day, as_json)


@reconcile_app.command("bank")
def reconcile_bank(
    day: DateOption = "",
    as_json: Annotated[bool, typer.Option("--json", help="print the summary as JSON")] = False,
) -> None:
    """The bank's OFX statement against the payouts of the reconciled marketplace nights
    and the anticipations: matched, unmatched lines, unmatched expected."""
    _reconcile("bank", day, as_json)


# ------------------------------------------------------------------ bench
@bench_app.command("pipeline")
def bench_pipeline(
    orders: Annotated[int, typer.Option(min=1, help="orders to complete")] = 300,
    bare: Annotated[int, typer.Option(min=1, help="bare workflows for the ceiling")] = 300,
    db_url: Annotated[str, typer.Option(help="application database (default: SQLite)")] = "",
    seed: Annotated[int, typer.Option(help="seed of the demo world")] = 42,
    as_json: Annotated[bool, typer.Option("--json", help="print the result as JSON")] = False,
) -> None:
    """Orders completed per second on the embedded stack, beside the ceiling of a bare
    workflow of 8 no-op activities measured in the same run (method in BENCHMARKS.md)."""
    from retaguarda.bench.pipeline import run_pipeline_bench

    result = run_pipeline_bench(_settings(), orders=orders, bare=bare, db_url=db_url, seed=seed)
    if as_json:
        print(json.dumps(result))
        return
    table = Table(title="bench pipeline", show_header=False)
    for key, value in result.items():
        table.add_row(key, str(value))
    Console().print(table)


@bench_app.command("portal")
def bench_portal(
    bookings: Annotated[int, typer.Option(min=1, help="pickups to book in each mode")] = 60,
    concurrency: Annotated[int, typer.Option(min=1, help="bookings at once (pool size)")] = 2,
    trace: Annotated[bool, typer.Option(help="record a Playwright trace per task")] = True,
    as_json: Annotated[bool, typer.Option("--json", help="print the result as JSON")] = False,
) -> None:
    """Pickups booked per minute on the sandbox carrier portal: one Chromium reused (a
    fresh context per booking) against a Chromium launched per booking."""
    from retaguarda.bench.portal import run_portal_bench

    result = run_portal_bench(_settings(), bookings=bookings, concurrency=concurrency, trace=trace)
    if as_json:
        print(json.dumps(result))
    else:
        table = Table(title="bench portal", show_header=False)
        for key, value in result.items():
            table.add_row(key, str(value))
        Console().print(table)
    if not result["all_booked_once"]:
        raise typer.Exit(1)


@bench_app.command("kpis")
def bench_kpis(
    orders: Annotated[int, typer.Option(min=1, help="orders in the read model")] = 1_000_000,
    runs: Annotated[int, typer.Option(min=1, help="timed runs per window")] = 5,
    db_url: Annotated[str, typer.Option(help="database (default: a SQLite file)")] = "",
    as_json: Annotated[bool, typer.Option("--json", help="print the result as JSON")] = False,
) -> None:
    """Time GET /kpis's SQL over a read model of N orders spread over a year, for a day,
    a week, 30 days and the year (method in BENCHMARKS.md)."""
    from retaguarda.bench.kpis import run_kpis_bench

    settings = _settings()
    result = run_kpis_bench(settings.var_dir, orders=orders, db_url=db_url or None, runs=runs)
    if as_json:
        print(json.dumps(result.to_json()))
        return
    table = Table(title=f"bench kpis: {result.orders} orders on {result.database}")
    for column in ("window", "median ms", "max ms", "orders closed"):
        table.add_column(column, justify="right")
    for name, median in result.median_ms.items():
        table.add_row(name, str(median), str(result.max_ms[name]), str(result.orders_closed[name]))
    Console().print(table)
    console.print(f"seeded in {result.seed_s} s")


@bench_app.command("intake")
def bench_intake(
    rate: Annotated[float, typer.Option(min=1, help="webhooks offered per second")] = 500,
    seconds: Annotated[float, typer.Option(min=0.1, help="how long to offer them")] = 20,
    db_url: Annotated[str, typer.Option(help="application database (default: SQLite)")] = "",
    as_json: Annotated[bool, typer.Option("--json", help="print the result as JSON")] = False,
    profile: Annotated[
        Path | None, typer.Option(help="record the API with py-spy into this folder")
    ] = None,
) -> None:
    """Offer signed store webhooks open-loop to an API of its own; report latency, lost
    and duplicate starts."""
    from retaguarda.bench.intake import run_intake_bench

    result = run_intake_bench(
        _settings(),
        rate=rate,
        seconds=seconds,
        db_url=db_url,
        profile_dir=profile,
        report=console.print,
    )
    if as_json:
        print(json.dumps(result))
    else:
        table = Table(title="bench intake")
        table.add_column("what")
        table.add_column("value", justify="right")
        for name, value in result.items():
            table.add_row(name, str(value))
        Console().print(table)
    if result["lost"] or result["duplicates_started"] or not result["drained"]:
        raise typer.Exit(1)


@bench_app.command("reconcile")
def bench_reconcile(
    lines: Annotated[int, typer.Option(min=100, help="release lines and receivables")] = 100_000,
    db_url: Annotated[
        str,
        typer.Option(
            help="a PostgreSQL server to make a throwaway database on, or 'sqlite' "
            "(default: the stack's PostgreSQL, else one on 127.0.0.1:5432, else SQLite)"
        ),
    ] = "",
    as_json: Annotated[bool, typer.Option("--json", help="print the result as JSON")] = False,
) -> None:
    """N release-report lines matched, classified and stored against N receivables, as the
    nightly run does it; the classes found checked against those seeded."""
    from retaguarda.bench.reconcile import choose_database, run_reconcile_bench

    try:
        url, why = choose_database(db_url, _settings().db.url)
    except ValueError as exc:
        raise typer.BadParameter(str(exc), param_hint="--db-url") from None
    print(f"bench reconcile: measuring on {'PostgreSQL' if url else 'SQLite'} ({why})",
          file=sys.stderr)  # fmt: skip
    result = run_reconcile_bench(lines, url)
    if as_json:
        print(json.dumps(result))
    else:
        table = Table(title="bench reconcile", show_header=False)
        for key, value in result.items():
            table.add_row(key, str(value))
        Console().print(table)
    if not result["classified_as_seeded"]:
        raise typer.Exit(1)


def _exit_on_sigterm(*_: Any) -> None:
    raise KeyboardInterrupt  # unwinds context managers: the embedded stack stops cleanly


def main() -> None:
    signal.signal(signal.SIGTERM, _exit_on_sigterm)
    try:
        app()
    except KeyboardInterrupt:
        sys.exit(130)


if __name__ == "__main__":
    main()
