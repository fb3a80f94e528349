"""Keeping an upload's password out of asyncssh's log records."""

from __future__ import annotations

import logging
import threading
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager


def _quotes(text: str, password: str) -> bool:
    """Whether text contains the password; an empty password counts as in none."""
    return bool(password) and password in text


class _PasswordGuard(logging.Filter):
    """Drops asyncssh log records that quote the password of an upload in progress.

    asyncssh logs what a server says (disconnect and SFTP error reasons), which may quote the password back,
    and at debug level 3 it dumps whole packets, the password request included. Such a record is dropped, not
    masked: stars in place of a short password would show where it occurs in the text around it. Uploads may
    run concurrently (in tasks or threads), so the filter holds every password in use and drops a record that
    quotes any of them. Filters do not inherit, so each asyncssh logger gets it, and only while uploads run.
    """

    def __init__(self) -> None:
        super().__init__()
        self._lock = threading.Lock()
        self._uses: Counter[str] = Counter()
        # Replaced whole under the lock, read without it: a record sees one consistent snapshot.
        self._secrets: tuple[tuple[str, bytes], ...] = ()
        self._loggers: list[logging.Logger] = []

    @contextmanager
    def hiding(self, password: str) -> Iterator[None]:
        if not password:
            yield
            return
        with self._lock:
            self._uses[password] += 1
            self._publish()
        try:
            yield
        finally:
            with self._lock:
                self._uses[password] -= 1
                if self._uses[password] <= 0:
                    del self._uses[password]
                self._publish()

    def _publish(self) -> None:
        self._secrets = tuple((p, p.encode("utf-8", "surrogatepass")) for p in self._uses)
        if self._uses and not self._loggers:
            self._loggers = _asyncssh_loggers()
            for each in self._loggers:
                each.addFilter(self)
        elif not self._uses and self._loggers:
            for each in self._loggers:
                each.removeFilter(self)
            self._loggers = []

    def filter(self, record: logging.LogRecord) -> bool:
        secrets = self._secrets
        if not secrets:
            return True
        try:
            texts = [record.getMessage()]
        except Exception:
            # A record that cannot be formatted cannot be checked either; and a filter must not raise into
            # asyncssh.
            return False
        if record.exc_info:
            texts.append(logging.Formatter().formatException(record.exc_info))
        texts.extend(text for text in (record.exc_text, record.stack_info) if text)
        packet = getattr(record, "packet", None)
        dump = bytes(packet) if isinstance(packet, (bytes, bytearray, memoryview)) else b""
        return not any(
            any(text_secret in text for text in texts) or byte_secret in dump
            for text_secret, byte_secret in secrets
        )


def _asyncssh_loggers() -> list[logging.Logger]:
    names = {"asyncssh", "asyncssh.sftp"}
    names.update(name for name in list(logging.Logger.manager.loggerDict) if name.startswith("asyncssh."))
    return [logging.getLogger(name) for name in sorted(names)]


_PASSWORD_GUARD = _PasswordGuard()
