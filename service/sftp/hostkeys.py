"""Host keys: the policy (accept-new, strict, off), known_hosts read and written as OpenSSH does."""

from __future__ import annotations

from pathlib import Path

from service.contract import FailedPrecondition
from service.sftp.address import DEFAULT_PORT, _host_name_key
from service.sftp.ssh import asyncssh

HOST_KEY_POLICIES = ("accept-new", "strict", "off")


def _known_hosts_name(host: str, port: int) -> str:
    """The host pattern OpenSSH writes in known_hosts: bare on port 22, `[host]:port` elsewhere."""
    name = _host_name_key(host)
    return name if port == DEFAULT_PORT else f"[{name}]:{port}"


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
