"""SFTP export: where an `SftpAddress` points, and writing a PDF there safely.

An address is `host[:port]/path/to/file.pdf`, as in Open Dental's DownloadSftp. The path is relative to the
SFTP user's login folder; a path that starts with a second slash (`host//srv/sheets/a.pdf`) is absolute on the
server, as `scp host:/srv/...` would be.
"""

from __future__ import annotations

import asyncio
import ipaddress
import logging
import posixpath
import re
import secrets
import socket
import threading
import unicodedata
import warnings
from collections import Counter
from collections.abc import Iterator, Sequence
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path
from typing import NoReturn

from cryptography.utils import CryptographyDeprecationWarning

# asyncssh names cryptography's DSA classes in annotations evaluated at import, and
# cryptography deprecates every access to them: five warnings on every start, about
# an algorithm the service never offers (OpenSSH dropped ssh-dss too). This is the
# one place asyncssh is imported; everything else takes it from here.
with warnings.catch_warnings():
    warnings.filterwarnings("ignore", "DSA is deprecated", CryptographyDeprecationWarning)
    import asyncssh as asyncssh
from asyncssh.encryption import get_default_encryption_algs

from service.contract import FailedPrecondition, InvalidArgument

logger = logging.getLogger("service.sftp")

DEFAULT_PORT = 22
DEFAULT_FILENAME = "sheet.pdf"
HOST_KEY_POLICIES = ("accept-new", "strict", "off")

_FIELD = "SftpAddress"
# The proto's max_length for SftpAddress, in the same unit (bytes of UTF-8). Through the API the request rule
# fires first; this keeps the limit for callers that parse an address themselves.
_MAX_ADDRESS_LENGTH = 1024
_FORBIDDEN_CATEGORIES = frozenset({"Cc", "Cf", "Cs", "Zl", "Zp"})
_SCHEME = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*://")
_HOST_NAME = re.compile(r"(?!-)[\w-]{1,63}(?:\.(?!-)[\w-]{1,63})*\.?")
# A link slower than this is treated as stalled: it bounds the transfer, which the connect timeout cannot.
_MIN_TRANSFER_RATE = 64 * 1024
_CLEANUP_SECONDS = 2.0
_MAX_REASON_LENGTH = 200


@dataclass(frozen=True)
class SftpTarget:
    """Where a sheet goes: a server, and a file path relative to the SFTP user's login folder."""

    host: str
    port: int
    directory: str
    filename: str
    # Whether the caller wrote the port, so `location` repeats it as written (":22" included).
    explicit_port: bool = False

    @property
    def path(self) -> str:
        """The file's path on the server: `directory/filename`."""
        return posixpath.join(self.directory, self.filename)

    @property
    def authority(self) -> str:
        """`host[:port]` as the caller wrote it, IPv6 literals in brackets."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        if self.explicit_port or self.port != DEFAULT_PORT:
            return f"{host}:{self.port}"
        return host

    @property
    def location(self) -> str:
        """`host[:port]/path/to/file.pdf`, with `sheet.pdf` appended when the address named a folder."""
        return f"{self.authority}/{self.path}"


def parse_sftp_address(address: str) -> SftpTarget:
    """Parse Open Dental's `SftpAddress`; raises InvalidArgument saying what is wrong with it."""
    text = address.strip()
    if not text:
        _invalid("SftpAddress is required.")
    if len(text.encode("utf-8", "surrogatepass")) > _MAX_ADDRESS_LENGTH:
        _invalid(f"SftpAddress is too long: at most {_MAX_ADDRESS_LENGTH} bytes of UTF-8.")
    if any(unicodedata.category(char) in _FORBIDDEN_CATEGORIES for char in text):
        _invalid("SftpAddress is invalid: it contains control characters.")
    if _SCHEME.match(text):
        _invalid(
            "SftpAddress is invalid: write it as host[:port]/path/to/file.pdf, without a scheme like sftp://."
        )
    authority, _, raw_path = text.partition("/")
    host, port, explicit_port = _parse_authority(authority)
    directory, filename = _parse_path(raw_path)
    return SftpTarget(host, port, directory, filename, explicit_port)


def _invalid(message: str) -> NoReturn:
    raise InvalidArgument(message, field=_FIELD)


def _parse_authority(authority: str) -> tuple[str, int, bool]:
    if not authority:
        _invalid("SftpAddress is invalid: it has no host; write it as host[:port]/path/to/file.pdf.")
    if "@" in authority:
        _invalid("SftpAddress is invalid: put the user name in SftpUsername, not in the address.")
    port_text: str | None
    if authority.startswith("["):
        host, bracket, rest = authority[1:].partition("]")
        if not bracket:
            _invalid("SftpAddress is invalid: the IPv6 address has no closing bracket.")
        try:
            ipaddress.IPv6Address(host)
        except ValueError:
            _invalid("SftpAddress is invalid: only an IPv6 address may be written in brackets.")
        if rest and not rest.startswith(":"):
            _invalid("SftpAddress is invalid: only :port may follow the IPv6 address.")
        port_text = rest[1:] if rest else None
    else:
        if authority.count(":") > 1:
            _invalid(
                "SftpAddress is invalid: write an IPv6 address in brackets, as in [2001:db8::1]:22/a.pdf."
            )
        host, colon, port_text = authority.partition(":")
        if not host:
            _invalid("SftpAddress is invalid: it has no host; write it as host[:port]/path/to/file.pdf.")
        if len(host) > 253 or not _HOST_NAME.fullmatch(host):
            _invalid("SftpAddress is invalid: the host is not a valid host name or IP address.")
        if not colon:
            port_text = None
    if port_text is None:
        return host, DEFAULT_PORT, False
    if not (port_text.isascii() and port_text.isdigit() and 1 <= int(port_text) <= 65535):
        _invalid("SftpAddress is invalid: the port must be a number from 1 to 65535.")
    return host, int(port_text), True


def _parse_path(raw_path: str) -> tuple[str, str]:
    parts = raw_path.split("/")
    segments = [part for part in parts if part not in ("", ".")]
    if ".." in segments:
        _invalid("SftpAddress is invalid: the path may not contain .. folders.")
    names_folder = parts[-1] in ("", ".") or "." not in segments[-1]
    if names_folder:
        folders, filename = segments, DEFAULT_FILENAME
    else:
        folders, filename = segments[:-1], segments[-1]
        if filename.rpartition(".")[2].lower() != "pdf":
            raise InvalidArgument("Invalid file extension. Only .pdf files are supported.", field=_FIELD)
    root = "/" if raw_path.startswith("/") else ""
    return root + "/".join(folders), filename


def _host_name_key(host: str) -> str:
    """One spelling per host, for known_hosts entries and the allowlist."""
    host = host.strip().strip("[]")
    try:
        return ipaddress.ip_address(host).compressed
    except ValueError:
        return host.lower().rstrip(".")


def _known_hosts_name(host: str, port: int) -> str:
    """The host pattern OpenSSH writes in known_hosts: bare on port 22, `[host]:port` elsewhere."""
    name = _host_name_key(host)
    return name if port == DEFAULT_PORT else f"[{name}]:{port}"


def check_target(target: SftpTarget, *, username: str, allowed_hosts: Sequence[str] = ()) -> None:
    """Every check of an export that needs no connection; raises InvalidArgument saying what is wrong.

    `upload_pdf` runs it first too; a caller may run it earlier, before doing the work of producing the file.
    """
    if not username:
        raise InvalidArgument("SftpUsername is required.", field="SftpUsername")
    if any(unicodedata.category(char) in _FORBIDDEN_CATEGORIES for char in username):
        raise InvalidArgument(
            "SftpUsername is invalid: it contains control characters.", field="SftpUsername"
        )
    if allowed_hosts and _host_name_key(target.host) not in {_host_name_key(h) for h in allowed_hosts}:
        raise InvalidArgument(
            f"SFTP host {target.host} is not allowed: it is not among the hosts this service may export to.",
            field=_FIELD,
        )


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


class _HostKeyGate(asyncssh.SSHClient):
    """Decides on host keys that known_hosts does not already vouch for."""

    def __init__(self, policy: str, known: asyncssh.SSHKnownHosts | None) -> None:
        self._policy = policy
        self._known = known
        self.new_key: asyncssh.SSHKey | None = None
        self.key_changed = False
        self.key_unknown = False
        self.key_revoked = False

    def validate_host_public_key(self, host: str, addr: str, port: int, key: asyncssh.SSHKey) -> bool:
        # asyncssh asks only after the key failed to match the known_hosts entries for this host.
        assert self._known is not None
        matches = self._known.match(host, addr, None if port == DEFAULT_PORT else port)
        # asyncssh's match() drops `[host]:port` @revoked entries when it falls back to bare-host ones, so
        # a key revoked for this port would reach us here: look both up.
        revoked = set(self._known.match(host, addr, None)[2])
        if port != DEFAULT_PORT:
            revoked.update(self._known.match(f"[{host}]:{port}", "", None)[2])
        if key in revoked:
            self.key_revoked = True
            return False
        # host keys, CA keys, X.509 certificates and subjects: anything that pins this host
        if any(matches[i] for i in (0, 1, 3, 5)):
            self.key_changed = True
            return False
        if self._policy == "accept-new":
            self.new_key = key
            return True
        self.key_unknown = True
        return False


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


def _read_known_hosts(path: Path) -> asyncssh.SSHKnownHosts:
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        text = ""
    except OSError as exc:
        raise FailedPrecondition(f"The SFTP known_hosts file could not be read: {exc.strerror}.") from None
    except UnicodeDecodeError:
        raise FailedPrecondition(
            "The SFTP known_hosts file could not be read: it is not UTF-8 text."
        ) from None
    try:
        return asyncssh.import_known_hosts(text)
    except ValueError as exc:
        raise FailedPrecondition(f"The SFTP known_hosts file is invalid: {exc}.") from None


def _remember_host_key(path: Path, name: str, key: asyncssh.SSHKey) -> None:
    algorithm, blob = key.export_public_key("openssh").decode("ascii").split()[:2]
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with path.open("a+b") as file:
            entry = f"{name} {algorithm} {blob}\n".encode("ascii")
            if file.tell() > 0:
                file.seek(-1, 2)
                # A hand-edited file may lack its final newline; our entry must not join its last line.
                if file.read(1) != b"\n":
                    entry = b"\n" + entry
            file.write(entry)
    except OSError as exc:
        raise FailedPrecondition(f"The SFTP known_hosts file could not be written: {exc.strerror}.") from None
