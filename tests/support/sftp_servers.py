"""Real SFTP servers for the export tests: asyncssh in-process, and OpenSSH's sshd.

Both serve one password-authenticated user whose login folder is `Peer.root` on this machine, so a test can
look at what an upload left behind. sshd runs in a private mount namespace where /etc/passwd, /etc/shadow and
/etc/group are bind-mounted copies that add the test account: the machine's own account files and any running
sshd are never touched, and the account disappears with the namespace.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from abc import ABC, abstractmethod
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING

from service.sftp.ssh import asyncssh

if TYPE_CHECKING:
    from asyncssh.misc import MaybeAwait

USERNAME = "sheetsftp"
PASSWORD = f"pw-{secrets.token_urlsafe(18)}"
LOOPBACK = "127.0.0.1"
LOOPBACK6 = "::1"
# Only inside sshd's mount namespace; high enough not to collide with a real account's files in /tmp.
SSHD_UID = 48621
# OpenSSH's sshd on PATH (root's PATH has /usr/sbin), or the one SHEETS_TEST_SSHD names.
SSHD = Path(os.environ.get("SHEETS_TEST_SSHD") or shutil.which("sshd") or "sshd")


def ipv6_loopback() -> bool:
    """Whether ::1 can be listened on here."""
    if not socket.has_ipv6:
        return False
    try:
        with socket.socket(socket.AF_INET6, socket.SOCK_STREAM) as sock:
            sock.bind((LOOPBACK6, 0))
    except OSError:
        return False
    return True


def free_port() -> int:
    """A loopback port nothing listens on (at the moment of asking)."""
    with socket.socket() as sock:
        sock.bind((LOOPBACK, 0))
        return int(sock.getsockname()[1])


def known_hosts_line(host: str, port: int, key: asyncssh.SSHKey) -> str:
    name = host if port == 22 else f"[{host}]:{port}"
    return f"{name} {key.export_public_key().decode().strip()}\n"


def contents(root: Path) -> dict[str, bytes]:
    """Every file below root, by relative path."""
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def read_text(path: Path) -> str | None:
    """A small local file's text, or None when it does not exist."""
    return path.read_text() if path.exists() else None


def lock_folder(path: Path) -> None:
    """A folder the SFTP user may look into but not write to."""
    path.mkdir(parents=True)
    path.chmod(0o555)


def write_file(path: Path, data: str | bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(data, str):
        path.write_text(data)
    else:
        path.write_bytes(data)


class Peer(ABC):
    """One running SFTP server and where its uploads land."""

    kind: str
    root: Path
    port: int
    port6: int | None
    host_key: asyncssh.SSHKey

    def address(self, path: str = "", *, ipv6: bool = False) -> str:
        if ipv6:
            assert self.port6 is not None
            return f"[{LOOPBACK6}]:{self.port6}/{path}"
        return f"{LOOPBACK}:{self.port}/{path}"

    @abstractmethod
    def server_path(self, local: Path) -> str:
        """The absolute path the server gives a local file or folder under root."""

    @abstractmethod
    def connection_count(self) -> int:
        """How many TCP connections the server has accepted."""

    @abstractmethod
    async def rekey(self) -> None:
        """Restart on the same ports with a freshly generated host key."""

    @abstractmethod
    def dropping(self) -> contextlib.AbstractAsyncContextManager[int]:
        """A loopback port where an upload to this server loses its connection mid-transfer."""


# --- asyncssh -----------------------------------------------------------------------------------------------


class _PasswordServer(asyncssh.SSHServer):
    def __init__(self, on_connect: Callable[[], None], password: str = PASSWORD) -> None:
        self._on_connect = on_connect
        self._password = password

    def connection_made(self, conn: asyncssh.SSHServerConnection) -> None:
        self._on_connect()

    def begin_auth(self, username: str) -> bool:
        return True

    def password_auth_supported(self) -> bool:
        return True

    def validate_password(self, username: str, password: str) -> bool:
        return username == USERNAME and secrets.compare_digest(password, self._password)


class PermissionsSFTPServer(asyncssh.SFTPServer):
    """Chrooted SFTP that refuses writes into folders without write bits.

    The in-process server runs as root, which the kernel lets write anywhere; this makes it answer like a
    server logged in as an ordinary user would.
    """

    def _check_writable(self, path: bytes) -> None:
        parent = os.path.dirname(self.map_path(path)) or b"/"
        if not os.stat(parent).st_mode & 0o200:
            raise asyncssh.SFTPPermissionDenied("Permission denied")

    def open(self, path: bytes, pflags: int, attrs: asyncssh.SFTPAttrs) -> MaybeAwait[object]:
        if pflags & (asyncssh.FXF_WRITE | asyncssh.FXF_CREAT):
            self._check_writable(path)
        return super().open(path, pflags, attrs)

    def mkdir(self, path: bytes, attrs: asyncssh.SFTPAttrs) -> MaybeAwait[None]:
        self._check_writable(path)
        return super().mkdir(path, attrs)

    def remove(self, path: bytes) -> MaybeAwait[None]:
        self._check_writable(path)
        return super().remove(path)

    def rename(self, oldpath: bytes, newpath: bytes) -> MaybeAwait[None]:
        self._check_writable(newpath)
        return super().rename(oldpath, newpath)

    def posix_rename(self, oldpath: bytes, newpath: bytes) -> MaybeAwait[None]:
        self._check_writable(newpath)
        return super().posix_rename(oldpath, newpath)


class DroppingSFTPServer(PermissionsSFTPServer):
    """Writes half of the first chunk it receives, then drops the connection without a word."""

    _dropped = False

    def write(self, file_obj: object, offset: int, data: bytes) -> MaybeAwait[int]:
        # Requests already buffered still arrive after the abort; a dead server would write none of them.
        if self._dropped:
            raise asyncssh.SFTPConnectionLost("Connection dropped")
        self._dropped = True
        written = super().write(file_obj, offset, data[: len(data) // 2])
        self.channel.get_connection().abort()
        return written


class FailingWriteSFTPServer(PermissionsSFTPServer):
    """Accepts the temporary file, then fails every write, as a full disk would."""

    reason = "No space left on device"

    def write(self, file_obj: object, offset: int, data: bytes) -> MaybeAwait[int]:
        raise asyncssh.SFTPFailure(self.reason)


class StallingSFTPServer(PermissionsSFTPServer):
    """Accepts the temporary file, then never answers a write, like a server whose disk hangs."""

    async def write(self, file_obj: object, offset: int, data: bytes) -> int:
        try:
            await self.channel.wait_closed()
        finally:
            # asyncssh abandons a session stuck in a request without closing its files.
            self.close(file_obj)
        raise asyncssh.SFTPConnectionLost("Client went away")


class EchoingSFTPServer(PermissionsSFTPServer):
    """Refuses to open files with a reason that quotes the user's password back."""

    def open(self, path: bytes, pflags: int, attrs: asyncssh.SFTPAttrs) -> MaybeAwait[object]:
        raise asyncssh.SFTPFailure(f"quota exceeded for password {PASSWORD}")


class AsyncsshPeer(Peer):
    kind = "asyncssh"

    def __init__(
        self,
        root: Path,
        sftp_server: type[asyncssh.SFTPServer] = PermissionsSFTPServer,
        password: str = PASSWORD,
    ) -> None:
        root.mkdir(parents=True, exist_ok=True)
        self.root = root
        self._sftp_server = sftp_server
        self._password = password
        self._connections = 0
        self._acceptors: list[asyncssh.SSHAcceptor] = []
        self.host_key = asyncssh.generate_private_key("ssh-ed25519")
        self.port = 0
        self.port6 = None

    async def start(self) -> None:
        self._acceptors = [await self._listen(LOOPBACK, self.port)]
        self.port = self._acceptors[0].get_port()
        if ipv6_loopback():
            self._acceptors.append(await self._listen(LOOPBACK6, self.port6 or 0))
            self.port6 = self._acceptors[1].get_port()

    async def _listen(
        self, host: str, port: int, sftp_server: type[asyncssh.SFTPServer] | None = None
    ) -> asyncssh.SSHAcceptor:
        server_class = sftp_server or self._sftp_server
        chroot = os.fsencode(self.root)
        return await asyncssh.listen(
            host,
            port,
            server_host_keys=[self.host_key],
            server_factory=lambda: _PasswordServer(self._count, self._password),
            sftp_factory=lambda chan: server_class(chan, chroot=chroot),
            allow_scp=False,
        )

    def _count(self) -> None:
        self._connections += 1

    async def stop(self) -> None:
        for acceptor in self._acceptors:
            acceptor.close()
            await acceptor.wait_closed()
        self._acceptors = []

    def server_path(self, local: Path) -> str:
        return "/" + str(local.relative_to(self.root))

    def connection_count(self) -> int:
        return self._connections

    async def rekey(self) -> None:
        await self.stop()
        self.host_key = asyncssh.generate_private_key("ssh-ed25519")
        await self.start()

    @contextlib.asynccontextmanager
    async def dropping(self) -> AsyncIterator[int]:
        acceptor = await self._listen(LOOPBACK, 0, DroppingSFTPServer)
        try:
            yield acceptor.get_port()
        finally:
            acceptor.close()
            await acceptor.wait_closed()


@contextlib.asynccontextmanager
async def asyncssh_peer(
    root: Path, sftp_server: type[asyncssh.SFTPServer] = PermissionsSFTPServer, *, password: str = PASSWORD
) -> AsyncIterator[AsyncsshPeer]:
    """An in-process asyncssh SFTP server chrooted to root, accepting USERNAME with `password`."""
    peer = AsyncsshPeer(root, sftp_server, password)
    await peer.start()
    try:
        yield peer
    finally:
        await peer.stop()


# --- OpenSSH ------------------------------------------------------------------------------------------------


class SshdUnavailable(Exception):
    """sshd cannot run here; the message says why."""


_NAMESPACE_SCRIPT = """
set -e
mount --bind "$1/passwd" /etc/passwd
mount --bind "$1/shadow" /etc/shadow
mount --bind "$1/group" /etc/group
# Debian's sshd wants its privilege-separation folder; a tmpfs /run seen only by this sshd provides it.
[ -d /run/sshd ] || { mount -t tmpfs -o mode=0755 tmpfs /run; mkdir -m 0755 /run/sshd; }
exec "$2" -D -e -f "$1/sshd_config"
"""


def sshd_problem() -> str | None:
    """Why sshd tests cannot run on this machine, or None."""
    if not SSHD.is_absolute() or not SSHD.exists():
        return f"{SSHD} is not installed or not on PATH (apt-get install openssh-server)"
    if os.geteuid() != 0:
        return "sshd tests need root: sshd must switch to the test account"
    for tool in ("unshare", "mount", "openssl"):
        if shutil.which(tool) is None:
            return f"{tool} is not installed"
    return None


def _sshd_version() -> tuple[int, int]:
    out = subprocess.run([str(SSHD), "-V"], capture_output=True, text=True, check=False)
    found = re.search(r"OpenSSH_(\d+)\.(\d+)", out.stdout + out.stderr)
    return (int(found[1]), int(found[2])) if found else (0, 0)


def _password_hash(password: str) -> str:
    return subprocess.run(
        ["openssl", "passwd", "-6", "-stdin"], input=password, capture_output=True, text=True, check=True
    ).stdout.strip()


class SshdPeer(Peer):
    kind = "openssh"

    def __init__(self, base: Path, password_hash: str, version: tuple[int, int]) -> None:
        self._base = base
        self.root = base / "home"
        self.root.mkdir()
        os.chown(self.root, SSHD_UID, SSHD_UID)
        self.port = free_port()
        self.port6 = self.port if ipv6_loopback() else None
        self._log = base / "sshd.log"
        self._proc: subprocess.Popen[bytes] | None = None
        self._write_accounts(password_hash)
        self._version = version
        self.host_key = asyncssh.generate_private_key("ssh-ed25519")

    def _write_accounts(self, password_hash: str) -> None:
        shell = "/usr/sbin/nologin" if Path("/usr/sbin/nologin").exists() else "/bin/false"
        passwd = Path("/etc/passwd").read_text()
        group = Path("/etc/group").read_text()
        entry = f"{USERNAME}:x:{SSHD_UID}:{SSHD_UID}:Sheets SFTP test:{self.root}:{shell}\n"
        (self._base / "passwd").write_text(passwd.rstrip("\n") + "\n" + entry)
        (self._base / "group").write_text(group.rstrip("\n") + f"\n{USERNAME}:x:{SSHD_UID}:\n")
        # Only the test account: the machine's password hashes are never copied.
        shadow = self._base / "shadow"
        shadow.touch(mode=0o600)
        shadow.write_text(f"{USERNAME}:{password_hash}:19000:0:99999:7:::\n")

    def _write_config(self) -> None:
        key_file = self._base / "ssh_host_ed25519_key"
        key_file.unlink(missing_ok=True)
        self.host_key.write_private_key(key_file)
        key_file.chmod(0o600)
        listen = [LOOPBACK] + ([LOOPBACK6] if self.port6 else [])
        lines = [
            f"Port {self.port}",
            *(f"ListenAddress {host}" for host in listen),
            f"HostKey {key_file}",
            "PidFile none",
            "UsePAM no",
            "PasswordAuthentication yes",
            "KbdInteractiveAuthentication no",
            "PubkeyAuthentication no",
            "AuthorizedKeysFile none",
            "PermitRootLogin no",
            f"AllowUsers {USERNAME}",
            "UseDNS no",
            "LogLevel VERBOSE",
            "Subsystem sftp internal-sftp",
            "ForceCommand internal-sftp",
            "AllowTcpForwarding no",
            "AllowAgentForwarding no",
            "X11Forwarding no",
            "PermitTTY no",
            "MaxStartups 100",
        ]
        if self._version >= (9, 8):
            # Wrong-password tests would otherwise get 127.0.0.1 penalised for the rest of the run.
            lines.append("PerSourcePenalties no")
        (self._base / "sshd_config").write_text("\n".join(lines) + "\n")

    def start(self) -> None:
        """Start sshd and wait until it listens (blocking)."""
        self._write_config()
        log = self._log.open("ab")
        # A restart appends to the log; only what this sshd writes says whether it listens.
        offset = log.tell()
        with log:
            self._proc = subprocess.Popen(
                [
                    *("unshare", "--mount", "--propagation", "private"),
                    *("sh", "-c", _NAMESPACE_SCRIPT, "sh", str(self._base), str(SSHD)),
                ],
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            if self._proc.poll() is not None:
                raise SshdUnavailable(
                    f"sshd exited with {self._proc.returncode}: {self._log.read_text()[offset:]}"
                )
            if f"listening on {LOOPBACK} port {self.port}" in self._log.read_text()[offset:]:
                return
            time.sleep(0.02)
        self.stop()
        raise SshdUnavailable(f"sshd did not start listening within 10 s: {self._log.read_text()[offset:]}")

    def stop(self) -> None:
        if self._proc is None:
            return
        proc, self._proc = self._proc, None
        # The session leader's group holds sshd's per-connection children too.
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()

    def server_path(self, local: Path) -> str:
        return str(local)

    def connection_count(self) -> int:
        return self._log.read_text().count("Connection from ")

    async def rekey(self) -> None:
        await asyncio.to_thread(self.stop)
        self.host_key = asyncssh.generate_private_key("ssh-ed25519")
        await asyncio.to_thread(self.start)

    @contextlib.asynccontextmanager
    async def dropping(self) -> AsyncIterator[int]:
        async with CuttingProxy(LOOPBACK, self.port, limit=64 * 1024) as port:
            yield port


class SshdFactory:
    """Starts sshd instances that share one password hash (computed once per run)."""

    def __init__(self) -> None:
        self._hash = _password_hash(PASSWORD)
        self._version = _sshd_version()

    @contextlib.contextmanager
    def peer(self) -> Iterator[SshdPeer]:
        # Not under pytest's tmp_path: its parents are private to root, and sshd's user must reach its home.
        base = Path(tempfile.mkdtemp(prefix="sheets-sshd-"))
        base.chmod(0o755)
        peer = SshdPeer(base, self._hash, self._version)
        try:
            for attempt in range(3):
                try:
                    peer.start()
                    break
                except SshdUnavailable as exc:
                    # Another process may have taken the port between free_port() and sshd binding it.
                    if "Address already in use" not in str(exc) or attempt == 2:
                        raise
                    peer.port = free_port()
                    peer.port6 = peer.port if peer.port6 else None
            yield peer
        finally:
            peer.stop()
            shutil.rmtree(base, ignore_errors=True)


# --- network misbehaviour -----------------------------------------------------------------------------------


class CuttingProxy:
    """A TCP relay to an upstream server that cuts both sides once the client has sent `limit` bytes."""

    def __init__(self, host: str, port: int, *, limit: int) -> None:
        self._upstream = (host, port)
        self._limit = limit
        self._server: asyncio.Server | None = None
        self._tasks: set[asyncio.Task[None]] = set()

    async def __aenter__(self) -> int:
        self._server = await asyncio.start_server(self._accept, LOOPBACK, 0)
        return int(self._server.sockets[0].getsockname()[1])

    async def __aexit__(self, *exc: object) -> None:
        assert self._server is not None
        self._server.close()
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        await self._server.wait_closed()

    def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.create_task(self._relay(reader, writer))
        self._tasks.add(task)

    async def _relay(self, client_reader: asyncio.StreamReader, client_writer: asyncio.StreamWriter) -> None:
        up_reader, up_writer = await asyncio.open_connection(*self._upstream)

        def cut() -> None:
            client_writer.transport.abort()
            up_writer.transport.abort()

        async def pump(src: asyncio.StreamReader, dst: asyncio.StreamWriter, limit: int | None) -> None:
            sent = 0
            try:
                while data := await src.read(65536):
                    sent += len(data)
                    if limit is not None and sent > limit:
                        break
                    dst.write(data)
                    await dst.drain()
            except ConnectionError:
                pass
            finally:
                cut()

        await asyncio.gather(
            pump(client_reader, up_writer, self._limit), pump(up_reader, client_writer, None)
        )


class SilentServer:
    """Accepts TCP connections and never says a word, like a server behind a stalled link."""

    def __init__(self) -> None:
        self._server: asyncio.Server | None = None
        self._writers: list[asyncio.StreamWriter] = []

    async def __aenter__(self) -> int:
        self._server = await asyncio.start_server(self._accept, LOOPBACK, 0)
        return int(self._server.sockets[0].getsockname()[1])

    async def __aexit__(self, *exc: object) -> None:
        assert self._server is not None
        self._server.close()
        for writer in self._writers:
            writer.transport.abort()
        await self._server.wait_closed()

    def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._writers.append(writer)
