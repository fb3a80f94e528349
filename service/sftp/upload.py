"""Writing a PDF to an SFTP server safely: a temporary name, then a rename, every failure
turned into a message without the password."""

from __future__ import annotations

import asyncio
import logging
import posixpath
import secrets
import socket
import unicodedata
from collections.abc import Sequence
from contextlib import suppress
from pathlib import Path
from typing import NoReturn

from service.contract import InvalidArgument
from service.sftp.address import _FIELD, SftpTarget, _host_name_key, check_target
from service.sftp.hostkeys import (
    HOST_KEY_POLICIES,
    _HostKeyGate,
    _known_hosts_name,
    _read_known_hosts,
    _remember_host_key,
)
from service.sftp.redaction import _PASSWORD_GUARD, _quotes
from service.sftp.ssh import asyncssh, get_default_encryption_algs

logger = logging.getLogger("service.sftp")
# A link slower than this is treated as stalled: it bounds the transfer, which the connect timeout cannot.
_MIN_TRANSFER_RATE = 64 * 1024
_CLEANUP_SECONDS = 2.0
_MAX_REASON_LENGTH = 200


async def upload_pdf(
    target: SftpTarget,
    *,
    username: str,
    password: str,
    data: bytes,
    host_key_policy: str,
    known_hosts: Path,
    allowed_hosts: Sequence[str] = (),
    connect_timeout: float = 10.0,
) -> str:
    """Write `data` to `target` over SFTP and return `target.location`.

    Missing folders are created and an existing file is replaced. The data goes to a temporary file in the
    target folder first and is renamed into place, so a failed upload never leaves a partial file at the
    target. `host_key_policy` is `accept-new` (remember a host's first key in `known_hosts`, refuse a changed
    one), `strict` (only keys already in `known_hosts`) or `off`. Every failure raises InvalidArgument (or
    FailedPrecondition for a known_hosts file the service cannot use); the password never appears in one.
    """
    if host_key_policy not in HOST_KEY_POLICIES:
        raise ValueError(f"host_key_policy must be one of {', '.join(HOST_KEY_POLICIES)}")
    check_target(target, username=username, allowed_hosts=allowed_hosts)
    upload = _Upload(target, username, password, connect_timeout)
    try:
        with _PASSWORD_GUARD.hiding(password):
            await upload.run(data, host_key_policy, known_hosts)
    except InvalidArgument as exc:
        # Our own wording, host, user and path, and a server reason only when it does not quote the password.
        logger.info("SFTP export to %s as %s failed: %s", target.location, username, exc.message)
        raise
    logger.info("SFTP export wrote %d bytes to %s as %s", len(data), target.location, username)
    return target.location


def _encryption_algs() -> list[str]:
    """asyncssh's default ciphers with AES-GCM first: one AEAD call per packet,
    where ChaCha20-Poly1305 takes three and builds two cipher objects (the
    export's SSH work is most of its cost beside the render). A server without
    AES-GCM still agrees on the next."""
    defaults = [alg.decode("ascii") for alg in get_default_encryption_algs()]
    gcm = sorted(
        (alg for alg in defaults if alg.endswith("-gcm@openssh.com")), key=lambda alg: "128" not in alg
    )
    return gcm + [alg for alg in defaults if alg not in gcm]


_ENCRYPTION_ALGS = _encryption_algs()


class _Upload:
    """One export attempt; turns every failure into a message without the password.

    A message is built from our own wording, the host, port, user and path the caller gave, and at most one
    piece of text from the server or the OS (`reason`), left out whole when it quotes the password. Nothing is
    ever replaced in the finished message.
    """

    def __init__(self, target: SftpTarget, username: str, password: str, timeout: float) -> None:
        self.target = target
        self.username = username
        self.password = password
        self.timeout = timeout
        self.server = f"SFTP server {target.authority}"
        self.step = "connect"  # what the upload was doing, for its error message

    def fail(self, message: str, detail: str = "") -> NoReturn:
        """Raise our own wording, followed by `: detail` when there is one (see `reason`)."""
        text = f"{message}: {detail}." if detail else f"{message}."
        raise InvalidArgument(text, field=_FIELD) from None

    def reason(self, exc: BaseException, text: object = None) -> str:
        """What the server (or the OS) said, made safe to show: one short line, no control characters.

        `text` defaults to the exception's reason. Text that quotes the password is dropped whole (an empty
        result): masking it would still show where the password occurs.
        """
        raw = str(text if text is not None else getattr(exc, "reason", "") or exc)
        if _quotes(raw, self.password):
            return ""
        if not raw:
            return type(exc).__name__
        cleaned = "".join(" " if unicodedata.category(c)[0] in "CZ" else c for c in raw)
        cleaned = " ".join(cleaned.split())[:_MAX_REASON_LENGTH].rstrip(".")
        if _quotes(cleaned, self.password):
            return ""
        return cleaned or type(exc).__name__

    async def run(self, data: bytes, policy: str, known_hosts: Path) -> None:
        known = None if policy == "off" else await asyncio.to_thread(_read_known_hosts, known_hosts)
        gate = _HostKeyGate(policy, known)
        conn = await self.connect(gate, known)
        try:
            if gate.new_key is not None:
                name = _known_hosts_name(self.target.host, self.target.port)
                await asyncio.to_thread(_remember_host_key, known_hosts, name, gate.new_key)
                logger.info("SFTP host key of %s remembered in %s", name, known_hosts)
            await self.deliver(conn, data)
        except BaseException:
            # A graceful close waits on the server, which may be the very thing that failed.
            conn.abort()
            raise
        conn.close()
        with suppress(TimeoutError):
            async with asyncio.timeout(self.cleanup_seconds):
                await conn.wait_closed()

    async def connect(
        self, gate: _HostKeyGate, known: asyncssh.SSHKnownHosts | None
    ) -> asyncssh.SSHClientConnection:
        target = self.target
        try:
            conn, _ = await asyncssh.create_connection(
                lambda: gate,
                target.host,
                target.port,
                username=self.username,
                password=self.password,
                known_hosts=known,
                host_key_alias=_host_name_key(target.host),
                # Nothing in the service account's ~/.ssh (config, keys, agent) may change how we log in.
                config=None,
                client_keys=None,
                agent_path=None,
                gss_auth=False,
                gss_kex=False,
                x509_trusted_certs=None,
                preferred_auth=("password", "keyboard-interactive"),
                encryption_algs=_ENCRYPTION_ALGS,
                connect_timeout=self.timeout,
            )
        except asyncssh.HostKeyNotVerifiable as exc:
            if gate.key_revoked:
                self.fail(
                    f"{self.server} presented a host key the service's known_hosts file marks as revoked"
                )
            if gate.key_changed:
                self.fail(
                    f"{self.server} presented a host key different from the one remembered for it; if the "
                    "server's key changed on purpose, remove its entry from the service's known_hosts file"
                )
            if gate.key_unknown:
                self.fail(
                    f"{self.server} is not in the service's known_hosts file, and host keys are checked "
                    "strictly; add the server's key to known_hosts first"
                )
            self.fail(f"{self.server} presented a host key this service does not trust", self.reason(exc))
        except asyncssh.PermissionDenied:
            self.fail(f"{self.server} did not accept the user name and password for {self.username}")
        except asyncssh.DisconnectError as exc:
            self.fail(f"{self.server} ended the connection", self.reason(exc))
        except TimeoutError:
            self.fail(f"{self.server} did not answer within {self.timeout:g} seconds")
        except (socket.gaierror, UnicodeError):
            self.fail(f"SFTP host {target.host} could not be found")
        except ConnectionRefusedError:
            self.fail(f"{self.server} refused the connection; check the host and port")
        except ConnectionError as exc:
            self.fail(f"{self.server} ended the connection", self.reason(exc, exc.strerror or None))
        except OSError as exc:
            self.fail(f"Could not connect to {self.server}", self.reason(exc, exc.strerror or None))
        except asyncssh.Error as exc:
            self.fail(f"{self.server} failed to set up the session", self.reason(exc))
        return conn

    async def deliver(self, conn: asyncssh.SSHClientConnection, data: bytes) -> None:
        target = self.target
        self.step = "start an SFTP session"
        try:
            async with asyncio.timeout(self.timeout + len(data) / _MIN_TRANSFER_RATE):
                sftp = await conn.start_sftp_client()
                self.step = f"write {target.path}"
                await self.write_and_rename(sftp, data)
                sftp.exit()
        except (
            asyncssh.SFTPConnectionLost,
            asyncssh.SFTPNoConnection,
            asyncssh.DisconnectError,
            ConnectionError,
        ):
            self.fail(f"{self.server} closed the connection before {target.path} was written")
        except asyncssh.SFTPError as exc:
            self.fail(f"{self.server} could not {self.step}", self.reason(exc))
        except TimeoutError:
            self.fail(f"{self.server} stopped answering while trying to {self.step}")
        except (asyncssh.Error, OSError) as exc:
            self.fail(f"{self.server} failed while trying to {self.step}", self.reason(exc))

    async def make_folders(self, sftp: asyncssh.SFTPClient) -> None:
        directory = self.target.directory
        self.step = f"create folder {directory}"
        if directory in ("", "/") or await sftp.isdir(directory):
            return
        current = "/" if directory.startswith("/") else ""
        for segment in directory.strip("/").split("/"):
            current = posixpath.join(current, segment)
            try:
                await sftp.mkdir(current)
            except asyncssh.SFTPError:
                # SFTP v3 reports an existing folder as a bare failure, and a folder we may not write to
                # may still exist (created by someone else, or by a concurrent export).
                if await sftp.isdir(current):
                    continue
                if await sftp.exists(current):
                    self.fail(
                        f"{self.server} could not create folder {current}: a file of that name is in the way"
                    )
                raise

    async def write_and_rename(self, sftp: asyncssh.SFTPClient, data: bytes) -> None:
        target = self.target
        temporary = posixpath.join(target.directory, f".{target.filename}.{secrets.token_hex(8)}.part")
        try:
            file = await sftp.open(temporary, "xb")
        except asyncssh.SFTPNoSuchFile:
            # The folder is missing (the usual case has it: no round trip spent looking first).
            await self.make_folders(sftp)
            self.step = f"write {target.path}"
            file = await sftp.open(temporary, "xb")
        try:
            await file.write(data, 0)
            # Durability before the rename publishes the file, where the server offers it.
            with suppress(asyncssh.SFTPOpUnsupported):
                await file.fsync()
            await file.close()
            try:
                await sftp.posix_rename(temporary, target.path)
            except asyncssh.SFTPOpUnsupported:
                # Plain SFTP v3 rename will not replace a file: remove the old one first (a short window
                # without a file, but never a partial one).
                with suppress(asyncssh.SFTPNoSuchFile):
                    await sftp.remove(target.path)
                await sftp.rename(temporary, target.path)
        except BaseException:
            await self.discard(sftp, file, temporary)
            raise

    async def discard(self, sftp: asyncssh.SFTPClient, file: asyncssh.SFTPClientFile, path: str) -> None:
        """Best effort, bounded: a dead server cannot remove anything, and the first error matters more."""
        with suppress(Exception):
            async with asyncio.timeout(self.cleanup_seconds):
                # Closed first: Windows servers refuse to delete an open file.
                with suppress(asyncssh.Error):
                    await file.close()
                await sftp.remove(path)

    @property
    def cleanup_seconds(self) -> float:
        return min(_CLEANUP_SECONDS, self.timeout)
