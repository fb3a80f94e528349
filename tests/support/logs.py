"""The process's logs captured as JSON lines, for tests that read what an operator would."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from telemetry.logs import configure_logging, route_to_stdlib


class LogLines:
    def __init__(self, stream: io.StringIO) -> None:
        self._stream = stream

    @property
    def text(self) -> str:
        return self._stream.getvalue()

    def records(self) -> list[dict[str, Any]]:
        return [json.loads(line) for line in self.text.splitlines() if line.strip()]

    def requests(self, **match: Any) -> list[dict[str, Any]]:
        """The access lines whose fields include `match`."""
        return [
            r
            for r in self.records()
            if r.get("event") == "request" and all(r.get(k) == v for k, v in match.items())
        ]


@contextmanager
def captured_logs(level: str = "INFO") -> Iterator[LogLines]:
    """Every logger of this process through the service's JSON pipeline into a buffer, from `level` up."""
    root = logging.getLogger()
    handlers, root_level = root.handlers[:], root.level
    stream = io.StringIO()
    configure_logging("json", level, stream=stream, cache=False)
    try:
        yield LogLines(stream)
    finally:
        route_to_stdlib()
        root.handlers = handlers
        root.setLevel(root_level)
