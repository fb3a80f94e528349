"""The `sheets` command."""

from __future__ import annotations

import argparse
import asyncio
import gc
import logging
import signal
import sys
from collections.abc import Callable, Coroutine, Sequence
from contextlib import AsyncExitStack
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pydantic import ValidationError

from service.config import ClientTls, Settings, TlsConfigError
from service.contract import SheetsError
from telemetry.logs import configure_logging

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncEngine

# Each command imports what it uses: `sheets gateway` must not load the
# renderer, SFTP or the ORM.

log = logging.getLogger("sheets")


class CommandError(Exception):
    """A failure to report in one line, with exit status 1 (2 for usage)."""


def _settings(args: argparse.Namespace, **overrides: Any) -> Settings:
    values = {k: v for k, v in overrides.items() if v is not None}
    if args.database_url:
        values["database_url"] = args.database_url
    if args.data_dir:
        values["data_dir"] = args.data_dir
    try:
        return Settings(**values)
    except ValidationError as exc:
        problems = "; ".join(
            f"SHEETS_{'_'.join(map(str, e['loc'])).upper()}: {e['msg']}" for e in exc.errors()
        )
        raise CommandError(f"invalid settings: {problems}") from None


async def _init_db(args: argparse.Namespace) -> None:
    from service.storage import db

    engine = db.create_engine(_settings(args).database_url)
    try:
        created = await db.init_db(engine)
    finally:
        await engine.dispose()
    print(f"created tables: {', '.join(created)}" if created else "all tables exist; nothing to do")


async def _import_sheetdef(args: argparse.Namespace) -> None:
    from tqdm import tqdm

    from service.admin import SheetDefFileError, insert_sheetdef, parse_sheetdef
    from service.storage import db

    # A bar on a terminal; elsewhere (a script, a log) only the result lines.
    quiet = not sys.stderr.isatty() or len(args.files) < 2
    # Parse every file before writing anything: one bad file writes nothing.
    try:
        parsed = [
            (path, *parse_sheetdef(Path(path)))
            for path in tqdm(args.files, desc="reading", unit="file", disable=quiet, leave=False)
        ]
    except SheetDefFileError as exc:
        raise CommandError(f"{exc} Nothing was imported.") from None
    engine = db.create_engine(_settings(args).database_url)
    try:
        async with db.write_transaction(engine) as conn:
            numbers = [
                await insert_sheetdef(conn, sheet_def, fields)
                for _, sheet_def, fields in tqdm(
                    parsed, desc="importing", unit="def", disable=quiet, leave=False
                )
            ]
    finally:
        await engine.dispose()
    for (path, sheet_def, fields), number in zip(parsed, numbers, strict=True):
        print(f"{path}: SheetDefNum {number} ({sheet_def.Description}, {len(fields)} fields)")


async def _seed_demo(args: argparse.Namespace) -> None:
    from service.admin import seed_demo
    from service.storage import db

    engine = db.create_engine(_settings(args).database_url)
    try:
        await db.init_db(engine)
        result = await seed_demo(engine)
    finally:
        await engine.dispose()
    print(f"demo patients added: {result.patients or 'none (already there)'}")
    print(f"demo sheet definitions added: {result.sheet_defs or 'none (already there)'}")


async def _wait_for_signal() -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    await stop.wait()


def _banner(settings: Settings, grpc_port: int, http_port: int | None) -> str:
    """What an operator sees on start: where to call, what to try, where the data is."""
    from sqlalchemy.engine import make_url

    grpc_host = settings.grpc_listen.rpartition(":")[0]
    grpc_target = f"{grpc_host}:{grpc_port}"
    auth = '-H "authorization: ODFHIR DeveloperKey/CustomerKey" ' if settings.auth_enabled else ""
    lines = ["", "open-dental-sheets is serving"]
    lines.append(f"  gRPC     {grpc_target}  (reflection, grpc.health.v1)")
    if http_port is not None:
        base = f"http://{settings.http_listen.rpartition(':')[0]}:{http_port}"
        lines.append(f"  REST     {base}/api/v1  (OpenAPI: {base}/api/v1/openapi.json)")
        lines.append(f"  ops      {base}/healthz  {base}/readyz  {base}/metrics")
    lines.append(f"  data     {make_url(settings.database_url).render_as_string(hide_password=True)}")
    lines.append(f"  folder   {settings.data_dir.resolve()}  (known_hosts for SFTP)")
    if settings.auth_enabled:
        lines.append(f"  auth     on: {len(settings.api_keys)} key(s) from SHEETS_API_KEYS")
    else:
        lines.append("  auth     off: SHEETS_API_KEYS is unset, so the service listens on loopback only")
    lines.append("Try:")
    if http_port is not None:
        rest_auth = auth.replace("authorization", "Authorization")
        lines.append(f'  curl -s {rest_auth}"{base}/api/v1/sheets?PatNum=1"')
    lines.append(
        f"  grpcurl -plaintext {auth}-d '{{\"PatNum\": 1}}' {grpc_target} "
        "opendental.sheets.v1.SheetService/ListSheets"
    )
    lines.append("Stop with Ctrl-C (calls in flight finish first).")
    return "\n".join(lines)


async def _serve(args: argparse.Namespace) -> None:
    from service.storage import backends, db
    from sheets.stack import running_service

    settings = _settings(
        args, grpc_listen=args.grpc, http_listen=args.http, gateway=False if args.no_gateway else None
    )
    listeners = [settings.grpc_listen] + ([settings.http_listen] if settings.gateway else [])
    try:
        settings.check_listeners(*listeners)
    except ValueError as exc:
        raise CommandError(str(exc)) from None

    async def prepare(engine: AsyncEngine) -> None:
        if backends.of(engine.dialect).embedded:
            await db.init_db(engine)

    async with AsyncExitStack() as stack:
        try:
            running = await stack.enter_async_context(running_service(settings, prepare=prepare))
        except TlsConfigError as exc:
            raise CommandError(str(exc)) from None
        except OSError as exc:
            raise CommandError(f"cannot listen: {exc}") from None
        tls = settings.server_tls
        mtls = " (client certificates required)" if tls and tls.client_ca_file else ""
        print(
            f"gRPC{' TLS' if tls else ''}: {settings.grpc_listen} (port {running.grpc.port}){mtls}",
            flush=True,
        )
        http_port = None
        if running.gateway is not None:
            http_port = running.gateway.port
            scheme = "https" if tls else "http"
            print(f"REST: {scheme}://{settings.http_listen}/api/v1 (port {http_port})", flush=True)
        print(_banner(settings, running.grpc.port, http_port), flush=True)
        # Everything loaded so far lives as long as the process: keep it out of
        # the collector's full passes, which otherwise pause every call.
        gc.collect()
        gc.freeze()
        await _wait_for_signal()
        log.info("shutting down (grace %.0fs)", settings.grace_seconds)
        await running.stop(settings.grace_seconds)


async def _gateway(args: argparse.Namespace) -> None:
    from sheets.remote import remote_gateway

    settings = _settings(args, http_listen=args.http)
    try:
        settings.check_listeners(settings.http_listen)
    except ValueError as exc:
        raise CommandError(str(exc)) from None
    if args.target_ca is None and (args.target_cert or args.target_key):
        raise CommandError("--target-cert and --target-key need --target-ca.")
    target_tls = ClientTls(args.target_ca, args.target_cert, args.target_key) if args.target_ca else None
    async with AsyncExitStack() as stack:
        try:
            running = await stack.enter_async_context(
                remote_gateway(args.target, settings, target_tls=target_tls)
            )
        except TlsConfigError as exc:
            raise CommandError(str(exc)) from None
        except OSError as exc:
            raise CommandError(f"cannot listen: {exc}") from None
        scheme = "https" if settings.server_tls else "http"
        via = "TLS" if target_tls else "plaintext"
        where = f"{scheme}://{settings.http_listen}/api/v1 (port {running.port})"
        print(f"REST: {where} -> gRPC {args.target} ({via})", flush=True)
        await _wait_for_signal()


async def _config(args: argparse.Namespace) -> None:
    from service.events import report as events_report
    from service.render import fonts
    from service.storage import database_error_fields, db
    from sheets import config_report

    settings = _settings(args)
    given = [name for name in ("database_url", "data_dir") if getattr(args, name)]
    lines = config_report.effective_settings(settings, from_command_line=given)
    # An environment file: each setting as it is in effect, the rest as comments.
    print("# Settings in effect (where each came from):")
    for line in lines:
        print(f"{line.variable}={line.value}  # {line.source}")
    tls = settings.server_tls
    mtls = ", client certificates required on gRPC" if tls and tls.client_ca_file else ""
    print(f"# TLS: {'on both surfaces' + mtls if tls else 'off (plaintext; loopback only unless allowed)'}")
    print(events_report.delivery_line(settings))
    print("# Fonts for PDFs:")
    for font_line in fonts.describe(fonts.find_fonts(settings.font_dirs)):
        print(f"#   {font_line}")
    engine = db.create_engine(settings.database_url)
    try:
        present, missing = await config_report.tables_found(engine)
    except Exception as exc:
        fields = database_error_fields(exc)
        print(
            f"# Open Dental tables: the database cannot be read ({fields['db_code']}: {fields['db_message']})"
        )
    else:
        print(f"# Open Dental tables present: {', '.join(present) or 'none'}")
        print(f"# Open Dental tables absent: {', '.join(missing) or 'none'}")
        print(await events_report.table_line(engine))
    finally:
        await engine.dispose()


async def _render(args: argparse.Namespace) -> None:
    from service.api import SheetStore
    from service.render import RenderConfig
    from service.render.draw import render_sheet_pdf
    from service.storage import db

    settings = _settings(args)
    engine = db.create_engine(settings.database_url)
    try:
        async with SheetStore(engine) as store:
            sheet, fields = await store.load_sheet(sheet_num=args.sheet_num)
    except SheetsError as exc:
        raise CommandError(exc.message) from None
    finally:
        await engine.dispose()
    pdf = render_sheet_pdf(sheet, fields, RenderConfig.from_settings(settings))
    args.output.write_bytes(pdf)
    print(f"{args.output}: sheet {args.sheet_num}, {len(pdf)} bytes")


_EPILOG = (
    "Every option is also an environment variable SHEETS_* (see `sheets config` and the README). "
    "Run `sheets COMMAND --help` for a command's own options."
)


def _command(
    sub: Any, name: str, summary: str, description: str, run: Callable[[argparse.Namespace], Any]
) -> argparse.ArgumentParser:
    parser: argparse.ArgumentParser = sub.add_parser(
        name, help=summary, description=description, epilog=_EPILOG
    )
    parser.set_defaults(run=run)
    return parser


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="sheets", description="Open Dental's Sheets API: gRPC service and REST gateway.", epilog=_EPILOG
    )
    parser.add_argument("--database-url", help="SQLAlchemy async URL (SHEETS_DATABASE_URL)")
    parser.add_argument(
        "--data-dir", help="folder of the embedded database and known_hosts (SHEETS_DATA_DIR)"
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    serve = _command(
        sub,
        "serve",
        "serve gRPC and the REST gateway",
        "Serve SheetService over gRPC (with reflection and grpc.health.v1) and, unless --no-gateway, "
        "the REST gateway on Open Dental's routes. SIGTERM stops taking calls and lets those in flight "
        "finish (SHEETS_GRACE_SECONDS).",
        _serve,
    )
    serve.add_argument("--grpc", help="gRPC listen address host:port (SHEETS_GRPC_LISTEN)")
    serve.add_argument("--http", help="REST listen address host:port (SHEETS_HTTP_LISTEN)")
    serve.add_argument("--no-gateway", action="store_true", help="serve gRPC only")
    gateway = _command(
        sub,
        "gateway",
        "serve the REST gateway in front of a remote gRPC target",
        "Serve the REST gateway in its own process, calling a `sheets serve` over gRPC. "
        "Request ids are passed on to the target.",
        _gateway,
    )
    gateway.add_argument("--target", required=True, help="gRPC target host:port")
    gateway.add_argument("--http", help="REST listen address host:port (SHEETS_HTTP_LISTEN)")
    gateway.add_argument("--target-ca", type=Path, help="PEM CAs: speak TLS to the target, verified by them")
    gateway.add_argument("--target-cert", type=Path, help="PEM client certificate, if the target wants one")
    gateway.add_argument("--target-key", type=Path, help="PEM private key of --target-cert")
    _command(
        sub,
        "init-db",
        "create the tables that are missing",
        "Create the tables the service needs that the database lacks. An existing table is never "
        "altered; running it twice is a no-op.",
        _init_db,
    )
    imp = _command(
        sub,
        "import-sheetdef",
        "import Open Dental sheet definition exports (XML)",
        "Import sheet definitions exported from Open Dental (Setup > Sheets > Export). Every file is "
        "read before anything is written: one bad file imports nothing. Prints each new SheetDefNum; "
        "shows a progress bar on a terminal.",
        _import_sheetdef,
    )
    imp.add_argument("files", nargs="+", metavar="FILE.xml")
    render = _command(
        sub,
        "render",
        "render a sheet to a PDF file",
        "Render a stored sheet to a PDF file, as RenderSheetPdf and GET /sheets/{SheetNum}/pdf do.",
        _render,
    )
    render.add_argument("sheet_num", type=int, metavar="SHEETNUM")
    render.add_argument("-o", "--output", type=Path, required=True, metavar="FILE.pdf")
    _command(
        sub,
        "seed-demo",
        "add demo patients and the built-in sheet definitions",
        "Add demo patients and one built-in sheet definition per creatable type; idempotent.",
        _seed_demo,
    )
    _command(
        sub,
        "config",
        "show the effective settings, fonts and Open Dental tables found",
        "Show every setting's effective value and where it came from (command line, environment, "
        "default), secrets masked; the font packages found for PDFs; and which of Open Dental's tables "
        "the database has.",
        _config,
    )
    return parser


def _configure_logs() -> None:
    # Python's warnings too, as lines of the logger `py.warnings`.
    logging.captureWarnings(True)
    # Invalid settings are reported by the command itself; log as best we can until then.
    try:
        settings = Settings()
    except ValidationError:
        configure_logging()
        return
    configure_logging(settings.log_format, settings.log_level)


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the `sheets` console script."""
    _configure_logs()
    args = _parser().parse_args(argv)
    run: Callable[[argparse.Namespace], Coroutine[Any, Any, None]] = args.run
    try:
        asyncio.run(run(args))
    except CommandError as exc:
        print(f"sheets {args.command}: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130
    return 0


if __name__ == "__main__":
    sys.exit(main())
