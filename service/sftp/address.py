"""Where an `SftpAddress` points, and the checks of an export that need no connection.

An address is `host[:port]/path/to/file.pdf`, as in Open Dental's DownloadSftp. The path is relative to the
SFTP user's login folder; a path that starts with a second slash (`host//srv/sheets/a.pdf`) is absolute on the
server, as `scp host:/srv/...` would be.
"""

from __future__ import annotations

import ipaddress
import posixpath
import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from typing import NoReturn

from service.contract import InvalidArgument

DEFAULT_PORT = 22
DEFAULT_FILENAME = "sheet.pdf"
_FIELD = "SftpAddress"
# The proto's max_length for SftpAddress, in the same unit (bytes of UTF-8). Through the API the request rule
# fires first; this keeps the limit for callers that parse an address themselves.
_MAX_ADDRESS_LENGTH = 1024
_FORBIDDEN_CATEGORIES = frozenset({"Cc", "Cf", "Cs", "Zl", "Zp"})
_SCHEME = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*://")
_HOST_NAME = re.compile(r"(?!-)[\w-]{1,63}(?:\.(?!-)[\w-]{1,63})*\.?")


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
