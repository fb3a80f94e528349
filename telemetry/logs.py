"""Structured logs: one pipeline (structlog) for our lines and for every stdlib
logger (aiohttp's, grpc's, asyncio's), as JSON lines or key=value on a terminal."""

from __future__ import annotations

import logging
import sys
from collections.abc import MutableMapping
from typing import Any, Literal, TextIO

import structlog
from structlog.typing import FilteringBoundLogger, Processor

LogFormat = Literal["auto", "json", "console"]
# Keys whose values are secrets wherever they turn up in an event.
SECRET_KEYS = frozenset(
    {"authorization", "password", "sftp_password", "SftpPassword", "api_keys", "customer_key", "secret"}
)
MASK = "***"


class _Handler(logging.StreamHandler):  # type: ignore[type-arg]
    """Writes to `stream`, or to whatever sys.stderr is at the time (it may be replaced)."""

    def __init__(self, stream: TextIO | None) -> None:
        super().__init__(stream or sys.stderr)
        self._fixed = stream

    @property
    def stream(self) -> TextIO:
        return self._fixed or sys.stderr

    @stream.setter
    def stream(self, value: TextIO) -> None:
        pass


class _CurrentStderr:
    """sys.stderr as it is at each write (something may replace it after logging is set up)."""

    def write(self, text: str) -> int:
        return sys.stderr.write(text)

    def flush(self) -> None:
        sys.stderr.flush()


def _mask_secrets(_: Any, __: str, event: MutableMapping[str, Any]) -> MutableMapping[str, Any]:
    for key in SECRET_KEYS.intersection(event):
        event[key] = MASK
    return event


def _processors() -> list[Processor]:
    return [
        structlog.contextvars.merge_contextvars,
        structlog.processors.add_log_level,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
    ]


def _logger_field(_: Any, __: str, event: MutableMapping[str, Any]) -> MutableMapping[str, Any]:
    # `logger` is the stdlib lines' key; structlog reserves the name for an argument.
    if "logger_name" in event:
        event["logger"] = event.pop("logger_name")
    return event


_FIRST = ("timestamp", "level", "logger", "event", "request_id")


def _first_keys_first(_: Any, __: str, event: MutableMapping[str, Any]) -> MutableMapping[str, Any]:
    # A person reading JSON lines finds when, how bad, who and what at the start of each.
    ordered = {key: event[key] for key in _FIRST if key in event}
    ordered.update(event)
    return ordered


def _drop_formatted_message(_: Any, __: str, event: MutableMapping[str, Any]) -> MutableMapping[str, Any]:
    # The stdlib formatter's copy of the message; `event` already holds it.
    event.pop("message", None)
    return event


def configure_logging(
    fmt: LogFormat = "auto", level: str = "INFO", stream: TextIO | None = None, *, cache: bool = True
) -> None:
    """Route every logger of this process through one formatter on `stream` (stderr).

    `auto` writes key=value when the stream is a terminal and JSON lines
    otherwise (a log collector's input). `cache` off lets a later call
    reconfigure loggers already used (tests).
    """
    if fmt == "auto":
        fmt = "console" if (stream or sys.stderr).isatty() else "json"
    renderer: Processor
    if fmt == "json":
        json_renderer = structlog.processors.JSONRenderer(ensure_ascii=False)

        def renderer(logger: Any, name: str, event: MutableMapping[str, Any]) -> Any:
            return json_renderer(logger, name, _first_keys_first(logger, name, event))

    else:
        renderer = structlog.processors.LogfmtRenderer(
            key_order=["timestamp", "level", "event", "logger", "request_id"], drop_missing=True
        )
    shared = _processors()
    # Our own lines skip the stdlib machinery (they cost a quarter as much:
    # one per request); stdlib loggers' lines get the same processors and
    # renderer through the formatter, on the same stream.
    structlog.configure(
        processors=[*shared, _logger_field, _mask_secrets, structlog.processors.format_exc_info, renderer],
        logger_factory=structlog.WriteLoggerFactory(file=stream or _CurrentStderr()),  # type: ignore[arg-type]
        wrapper_class=structlog.make_filtering_bound_logger(logging.getLevelNamesMapping()[level.upper()]),
        cache_logger_on_first_use=cache,
    )
    formatter = structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=[
            *shared,
            structlog.stdlib.add_logger_name,
            structlog.stdlib.ExtraAdder(),
            _drop_formatted_message,
            _mask_secrets,
        ],
        processors=[
            structlog.stdlib.ProcessorFormatter.remove_processors_meta,
            structlog.processors.format_exc_info,
            renderer,
        ],
    )
    handler = _Handler(stream)
    handler.setFormatter(formatter)
    root = logging.getLogger()
    # Configuring again replaces our handler, and only ours.
    for old in [h for h in root.handlers if isinstance(h, _Handler)]:
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level.upper())
    # aiohttp's access log is replaced by our own line per request.
    logging.getLogger("aiohttp.access").setLevel(logging.WARNING)


def route_to_stdlib() -> None:
    """What a process that never calls `configure_logging` gets (a library user, the bench's
    server): our lines go to the stdlib logger named for them, as anything else it logs would,
    never to stdout (structlog's own default)."""
    structlog.configure(
        processors=[
            structlog.stdlib.filter_by_level,
            structlog.contextvars.merge_contextvars,
            _mask_secrets,
            _without_logger_name,
            structlog.stdlib.render_to_log_kwargs,
        ],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=False,
    )


def _without_logger_name(_: Any, __: str, event: MutableMapping[str, Any]) -> MutableMapping[str, Any]:
    # The stdlib record names its logger itself.
    event.pop("logger_name", None)
    return event


def get_logger(name: str) -> FilteringBoundLogger:
    """A structlog logger whose lines carry `logger=name`, like the stdlib loggers' lines."""
    if not structlog.is_configured():
        route_to_stdlib()
    # Not `.bind()`: that would fix the configuration of the moment, before logging is set up.
    logger: FilteringBoundLogger = structlog.get_logger(name, logger_name=name)
    return logger
