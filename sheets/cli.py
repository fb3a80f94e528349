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

from service.errors import SheetsError
from service.settings import Settings
from service.tls import ClientTls, TlsConfigError

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
    from service import db

    engine = db.create_engine(_settings(args).database_url)
    try:
        created = await db.init_db(engine)
    finally:
        await engine.dispose()
    print(f"created tables: {', '.join(created)}" if created else "all tables exist; nothing to do")


async def _import_sheetdef(args: argparse.Namespace) -> None:
    from service import db
    from service.sheetdef_xml import SheetDefFileError, insert_sheetdef, parse_sheetdef

    # Parse every file before writing anything: one bad file writes nothing.
    try:
        parsed = [(path, *parse_sheetdef(Path(path))) for path in args.files]
    except SheetDefFileError as exc:
        raise CommandError(f"{exc} Nothing was imported.") from None
    engine = db.create_engine(_settings(args).database_url)
    try:
        async with db.write_transaction(engine) as conn:
            numbers = [await insert_sheetdef(conn, sheet_def, fields) for _, sheet_def, fields in parsed]
    finally:
        await engine.dispose()
    for (path, sheet_def, fields), number in zip(parsed, numbers, strict=True):
        print(f"{path}: SheetDefNum {number} ({sheet_def.Description}, {len(fields)} fields)")


async def _seed_demo(args: argparse.Namespace) -> None:
    from service import db
    from service.demo import seed_demo

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


async def _serve(args: argparse.Namespace) -> None:
    from service import db
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
        if engine.dialect.name == "sqlite":
            # The embedded database is created on first start.
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
        if running.gateway is not None:
            scheme = "https" if tls else "http"
            print(f"REST: {scheme}://{settings.http_listen}/api/v1 (port {running.gateway.port})", flush=True)
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


async def _render(args: argparse.Namespace) -> None:
    from service import db
    from service.render import RenderConfig, render_sheet_pdf
    from service.store import SheetStore

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


def _shown(name: str, value: object) -> str:
    """A setting as `sheets config` prints it: secrets masked."""
    if name == "api_keys":
        keys: Any = value
        return ", ".join(f"{key.developer_key}/*** ({key.permission})" for key in keys) or "(unset: auth off)"
    if name == "database_url":
        from sqlalchemy.engine import make_url

        return make_url(str(value)).render_as_string(hide_password=True)
    if value is None or value == ():
        return "(unset)"
    if isinstance(value, tuple):
        return ",".join(map(str, value))
    return str(value).lower() if isinstance(value, bool) else str(value)


async def _config(args: argparse.Namespace) -> None:
    settings = _settings(args)
    for name in type(settings).model_fields:
        print(f"SHEETS_{name.upper()}={_shown(name, getattr(settings, name))}")
    tls = settings.server_tls
    mtls = ", client certificates required on gRPC" if tls and tls.client_ca_file else ""
    print(f"# TLS: {'on both surfaces' + mtls if tls else 'off (plaintext; loopback only unless allowed)'}")


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="sheets", description="Open Dental's Sheets API: gRPC service and REST gateway."
    )
    parser.add_argument("--database-url", help="SQLAlchemy async URL (SHEETS_DATABASE_URL)")
    parser.add_argument(
        "--data-dir", help="folder of the embedded database and known_hosts (SHEETS_DATA_DIR)"
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    serve = sub.add_parser("serve", help="serve gRPC and the REST gateway")
    serve.add_argument("--grpc", help="gRPC listen address host:port (SHEETS_GRPC_LISTEN)")
    serve.add_argument("--http", help="REST listen address host:port (SHEETS_HTTP_LISTEN)")
    serve.add_argument("--no-gateway", action="store_true", help="serve gRPC only")
    serve.set_defaults(run=_serve)
    gateway = sub.add_parser("gateway", help="serve the REST gateway in front of a remote gRPC target")
    gateway.add_argument("--target", required=True, help="gRPC target host:port")
    gateway.add_argument("--http", help="REST listen address host:port (SHEETS_HTTP_LISTEN)")
    gateway.add_argument("--target-ca", type=Path, help="PEM CAs: speak TLS to the target, verified by them")
    gateway.add_argument("--target-cert", type=Path, help="PEM client certificate, if the target wants one")
    gateway.add_argument("--target-key", type=Path, help="PEM private key of --target-cert")
    gateway.set_defaults(run=_gateway)
    init = sub.add_parser("init-db", help="create the tables that are missing")
    init.set_defaults(run=_init_db)
    imp = sub.add_parser("import-sheetdef", help="import Open Dental sheet definition exports (XML)")
    imp.add_argument("files", nargs="+", metavar="FILE.xml")
    imp.set_defaults(run=_import_sheetdef)
    render = sub.add_parser("render", help="render a sheet to a PDF file")
    render.add_argument("sheet_num", type=int, metavar="SHEETNUM")
    render.add_argument("-o", "--output", type=Path, required=True, metavar="FILE.pdf")
    render.set_defaults(run=_render)
    config = sub.add_parser("config", help="print the effective settings (secrets masked)")
    config.set_defaults(run=_config)
    seed = sub.add_parser("seed-demo", help="add demo patients and the built-in sheet definitions")
    seed.set_defaults(run=_seed_demo)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the `sheets` console script."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
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
