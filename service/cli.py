"""The `sheets` command."""

from __future__ import annotations

import argparse
import asyncio
import gc
import logging
import signal
import sys
from collections.abc import Callable, Coroutine, Sequence
from pathlib import Path
from typing import Any

from pydantic import ValidationError
from sqlalchemy.ext.asyncio import AsyncEngine

from service import db
from service.api import SheetsApi
from service.auth import Authenticator
from service.demo import seed_demo
from service.errors import SheetsError
from service.render import PdfRenderer, render_sheet_pdf
from service.server import start_grpc_server
from service.servicer import SheetServicer
from service.settings import Settings
from service.sheetdef_xml import SheetDefFileError, insert_sheetdef, parse_sheetdef
from service.sheets import load_sheet

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
    engine = db.create_engine(_settings(args).database_url)
    try:
        created = await db.init_db(engine)
    finally:
        await engine.dispose()
    print(f"created tables: {', '.join(created)}" if created else "all tables exist; nothing to do")


async def _import_sheetdef(args: argparse.Namespace) -> None:
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


def _build_api(settings: Settings, engine: AsyncEngine, renderer: PdfRenderer) -> SheetsApi:
    return SheetsApi(
        engine=engine, settings=settings, authenticator=Authenticator(settings.api_keys), renderer=renderer
    )


async def _serve(args: argparse.Namespace) -> None:
    from gateway.app import create_app, start_gateway
    from gateway.invokers import InProcessInvoker

    settings = _settings(
        args, grpc_listen=args.grpc, http_listen=args.http, gateway=False if args.no_gateway else None
    )
    listeners = [settings.grpc_listen] + ([settings.http_listen] if settings.gateway else [])
    try:
        settings.check_listeners(*listeners)
    except ValueError as exc:
        raise CommandError(str(exc)) from None
    engine = db.create_engine(settings.database_url)
    if engine.dialect.name == "sqlite":
        # The embedded database is created on first start.
        await db.init_db(engine)
    renderer = PdfRenderer(settings.render_workers)
    api = _build_api(settings, engine, renderer)
    grpc_server = None
    runner = None
    try:
        try:
            grpc_server = await start_grpc_server(settings.grpc_listen, SheetServicer(api))
            print(f"gRPC: {settings.grpc_listen} (port {grpc_server.port})", flush=True)
            if settings.gateway:
                app = create_app(
                    InProcessInvoker(api), max_body_bytes=settings.max_body_bytes, service_metrics=api.metrics
                )
                runner, port = await start_gateway(app, settings.http_listen, grace=settings.grace_seconds)
                print(f"REST: http://{settings.http_listen}/api/v1 (port {port})", flush=True)
        except OSError as exc:
            raise CommandError(f"cannot listen: {exc}") from None
        # Everything loaded so far lives as long as the process: keep it out of
        # the collector's full passes, which otherwise pause every call.
        gc.collect()
        gc.freeze()
        await _wait_for_signal()
        log.info("shutting down (grace %.0fs)", settings.grace_seconds)
        # Both surfaces stop taking calls at once; calls in flight get the grace period.
        stopping = [grpc_server.stop(settings.grace_seconds)] + ([runner.cleanup()] if runner else [])
        grpc_server = runner = None
        await asyncio.gather(*stopping)
    finally:
        if runner is not None:
            await runner.cleanup()
        if grpc_server is not None:
            await grpc_server.stop(0)
        await asyncio.to_thread(renderer.close)
        await api.close()
        await engine.dispose()


async def _gateway(args: argparse.Namespace) -> None:
    import grpc

    from gateway.app import create_app, start_gateway
    from gateway.invokers import RemoteInvoker

    settings = _settings(args, http_listen=args.http)
    try:
        settings.check_listeners(settings.http_listen)
    except ValueError as exc:
        raise CommandError(str(exc)) from None
    keys = Authenticator(settings.api_keys) if settings.api_keys else None
    # PDFs of many pages exceed gRPC's default 4 MB limit on what a client receives.
    options = [("grpc.max_receive_message_length", 64 << 20)]
    async with grpc.aio.insecure_channel(args.target, options=options) as channel:
        app = create_app(RemoteInvoker(channel, authenticator=keys), max_body_bytes=settings.max_body_bytes)
        try:
            runner, port = await start_gateway(app, settings.http_listen, grace=settings.grace_seconds)
        except OSError as exc:
            raise CommandError(f"cannot listen: {exc}") from None
        print(f"REST: http://{settings.http_listen}/api/v1 (port {port}) -> gRPC {args.target}", flush=True)
        try:
            await _wait_for_signal()
        finally:
            await runner.cleanup()


async def _render(args: argparse.Namespace) -> None:
    engine = db.create_engine(_settings(args).database_url)
    try:
        sheet, fields = await load_sheet(engine, args.sheet_num)
    except SheetsError as exc:
        raise CommandError(exc.message) from None
    finally:
        await engine.dispose()
    pdf = render_sheet_pdf(sheet, fields)
    args.output.write_bytes(pdf)
    print(f"{args.output}: sheet {args.sheet_num}, {len(pdf)} bytes")


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
