"""SFTP export against real servers: asyncssh in-process and OpenSSH's sshd."""

from __future__ import annotations

import asyncio
import logging
import os
import secrets
import socket
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any, ClassVar, NoReturn

import pytest

from service.contract.errors import FailedPrecondition, InvalidArgument
from service.sftp.address import SftpTarget, check_target, parse_sftp_address
from service.sftp.hostkeys import _known_hosts_name
from service.sftp.redaction import _PASSWORD_GUARD
from service.sftp.ssh import asyncssh
from service.sftp.upload import upload_pdf
from tests.support.sftp_servers import (
    LOOPBACK,
    PASSWORD,
    USERNAME,
    CuttingProxy,
    EchoingSFTPServer,
    FailingWriteSFTPServer,
    Peer,
    PermissionsSFTPServer,
    SilentServer,
    StallingSFTPServer,
    asyncssh_peer,
    contents,
    free_port,
    known_hosts_line,
    lock_folder,
    read_text,
    write_file,
)

PDF = b"%PDF-1.4\n" + bytes(range(256)) * 64
BIG_PDF = b"%PDF-1.4\n" + bytes(range(256)) * 4096
# Letters that occur in our own wording ("SFTP server ... refused the connection"): masking such a password
# in a finished message would show where the letter occurs.
SHORT_PASSWORDS = ("e", "p", "s", "a")
STARS = "********"


@pytest.fixture
def known_hosts(tmp_path: Path) -> Path:
    return tmp_path / "data" / "known_hosts"


@pytest.fixture(autouse=True)
def no_password_in_logs(caplog: pytest.LogCaptureFixture) -> Iterator[None]:
    caplog.set_level(logging.DEBUG)
    # A record through asyncssh's logger first: the password's absence below means something only
    # when asyncssh's debug records reach the capture.
    logging.getLogger("asyncssh").debug("capture probe")
    yield
    probe = [r.getMessage() for r in caplog.get_records("setup") if r.name == "asyncssh"]
    assert "capture probe" in probe, "asyncssh's records are not captured: the check below proves nothing"
    assert PASSWORD not in caplog.text


def assert_our_failure_was_logged(caplog: pytest.LogCaptureFixture) -> None:
    """The export's own failure line is in the capture: what is absent from it was really left out."""
    assert any(r.name == "service.sftp" and "failed" in r.getMessage() for r in caplog.records)


async def upload(
    address: str,
    known_hosts: Path,
    *,
    data: bytes = PDF,
    policy: str = "off",
    password: str = PASSWORD,
    allowed: tuple[str, ...] = (),
    connect_timeout: float = 5.0,
) -> str:
    return await upload_pdf(
        parse_sftp_address(address),
        username=USERNAME,
        password=password,
        data=data,
        host_key_policy=policy,
        known_hosts=known_hosts,
        allowed_hosts=allowed,
        connect_timeout=connect_timeout,
    )


async def refused(address: str, known_hosts: Path, **kwargs: Any) -> str:
    """The message of the InvalidArgument an upload raises."""
    with pytest.raises(InvalidArgument) as caught:
        await upload(address, known_hosts, **kwargs)
    assert PASSWORD not in caught.value.message
    return caught.value.message


# --- addresses ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("address", "host", "port", "path", "location"),
    [
        (
            "MySftpSite/myUsername/Sheets/ExamSheetJones.pdf",
            "MySftpSite",
            22,
            "myUsername/Sheets/ExamSheetJones.pdf",
            "MySftpSite/myUsername/Sheets/ExamSheetJones.pdf",
        ),
        (
            "sftp.example.com:2222/a/b.PDF",
            "sftp.example.com",
            2222,
            "a/b.PDF",
            "sftp.example.com:2222/a/b.PDF",
        ),
        ("host:22/x.pdf", "host", 22, "x.pdf", "host:22/x.pdf"),
        ("host", "host", 22, "sheet.pdf", "host/sheet.pdf"),
        ("host/", "host", 22, "sheet.pdf", "host/sheet.pdf"),
        ("host/Sheets", "host", 22, "Sheets/sheet.pdf", "host/Sheets/sheet.pdf"),
        ("host/Sheets/2024/", "host", 22, "Sheets/2024/sheet.pdf", "host/Sheets/2024/sheet.pdf"),
        ("host/Sheets.v2/", "host", 22, "Sheets.v2/sheet.pdf", "host/Sheets.v2/sheet.pdf"),
        ("host//srv/sftp/x.pdf", "host", 22, "/srv/sftp/x.pdf", "host//srv/sftp/x.pdf"),
        ("host//", "host", 22, "/sheet.pdf", "host//sheet.pdf"),
        ("host/a//b/./x.pdf", "host", 22, "a/b/x.pdf", "host/a/b/x.pdf"),
        ("[::1]:2222/x.pdf", "::1", 2222, "x.pdf", "[::1]:2222/x.pdf"),
        (
            "[2001:db8::7]/Exam Sheets/",
            "2001:db8::7",
            22,
            "Exam Sheets/sheet.pdf",
            "[2001:db8::7]/Exam Sheets/sheet.pdf",
        ),
        ("10.0.0.5:8022/x.pdf", "10.0.0.5", 8022, "x.pdf", "10.0.0.5:8022/x.pdf"),
        ("  host/x.pdf  ", "host", 22, "x.pdf", "host/x.pdf"),
    ],
)
def test_address_is_read_as_open_dental_writes_it(
    address: str, host: str, port: int, path: str, location: str
) -> None:
    target = parse_sftp_address(address)
    assert (target.host, target.port, target.path, target.location) == (host, port, path, location)
    assert parse_sftp_address(target.location) == target


def test_location_of_a_target_built_by_hand_names_a_non_default_port() -> None:
    assert SftpTarget("h", 2222, "a", "x.pdf").location == "h:2222/a/x.pdf"
    assert SftpTarget("::1", 22, "", "x.pdf").location == "[::1]/x.pdf"


@pytest.mark.parametrize(
    "address", ["host/x.txt", "host/a/x.pdf.exe", "host/archive.tar.gz", "host/x.", "host:2222/x.PDFX"]
)
def test_extension_other_than_pdf_is_refused(address: str) -> None:
    with pytest.raises(InvalidArgument) as caught:
        parse_sftp_address(address)
    assert caught.value.message == "Invalid file extension. Only .pdf files are supported."
    assert caught.value.field == "SftpAddress"


@pytest.mark.parametrize(
    ("address", "explanation"),
    [
        ("", "SftpAddress is required."),
        ("   ", "SftpAddress is required."),
        ("/x.pdf", "it has no host"),
        (":22/x.pdf", "it has no host"),
        ("host:/x.pdf", "port must be a number from 1 to 65535"),
        ("host:0/x.pdf", "port must be a number from 1 to 65535"),
        ("host:65536/x.pdf", "port must be a number from 1 to 65535"),
        ("host:ssh/x.pdf", "port must be a number from 1 to 65535"),
        ("host:-1/x.pdf", "port must be a number from 1 to 65535"),
        ("host:\uff12\uff12/x.pdf", "port must be a number from 1 to 65535"),
        ("host/../x.pdf", "may not contain .. folders"),
        ("host/a/../../etc/x.pdf", "may not contain .. folders"),
        ("host/a\n/x.pdf", "control characters"),
        ("ho\tst/x.pdf", "control characters"),
        ("host/x\u202e.pdf", "control characters"),
        ("host/x\x00.pdf", "control characters"),
        ("user@host/x.pdf", "put the user name in SftpUsername"),
        ("::1/x.pdf", "write an IPv6 address in brackets"),
        ("[::1/x.pdf", "no closing bracket"),
        ("[host]/x.pdf", "only an IPv6 address may be written in brackets"),
        ("[::1]x/x.pdf", "only :port may follow"),
        ("bad host/x.pdf", "not a valid host name"),
        ("-host/x.pdf", "not a valid host name"),
        ("a..b/x.pdf", "not a valid host name"),
        ("sftp://host/x.pdf", "without a scheme"),
        ("host/" + "a/" * 1100 + "x.pdf", "too long"),
        ("host/" + "a" * 1016 + ".pdf", "too long: at most 1024 bytes of UTF-8"),
        ("host/" + "\u00e9" * 510 + ".pdf", "too long: at most 1024 bytes of UTF-8"),
    ],
)
def test_malformed_address_is_refused_with_an_explanation(address: str, explanation: str) -> None:
    with pytest.raises(InvalidArgument) as caught:
        parse_sftp_address(address)
    assert explanation in caught.value.message
    assert caught.value.field == "SftpAddress"


def test_address_of_the_proto_s_maximum_length_is_accepted() -> None:
    # The proto allows 1024 bytes of UTF-8; the parser's own limit is the same, guarding other callers.
    address = "host/" + "a" * 1015 + ".pdf"
    assert len(address.encode()) == 1024
    assert parse_sftp_address(address).filename == "a" * 1015 + ".pdf"


def test_known_hosts_names_port_22_bare_and_other_ports_in_brackets() -> None:
    assert _known_hosts_name("SFTP.Example.com.", 22) == "sftp.example.com"
    assert _known_hosts_name("sftp.example.com", 2222) == "[sftp.example.com]:2222"
    assert _known_hosts_name("0:0::1", 2222) == "[::1]:2222"


# --- uploads to both servers --------------------------------------------------------------------------------


async def test_upload_creates_nested_folders_and_returns_the_location(peer: Peer, known_hosts: Path) -> None:
    address = peer.address("Sheets/2024/Jones/ExamSheetJones.pdf")
    assert await upload(address, known_hosts) == address
    assert contents(peer.root) == {"Sheets/2024/Jones/ExamSheetJones.pdf": PDF}


async def test_upload_replaces_an_existing_file_and_leaves_no_temporary_file(
    peer: Peer, known_hosts: Path
) -> None:
    await upload(peer.address("Sheets/exam.pdf"), known_hosts, data=b"%PDF-1.4 first")
    await upload(peer.address("Sheets/exam.pdf"), known_hosts, data=PDF)
    assert contents(peer.root) == {"Sheets/exam.pdf": PDF}


async def test_upload_replaces_a_file_by_remove_and_rename_without_posix_rename(
    peer: Peer, known_hosts: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def unsupported(self: asyncssh.SFTPClient, oldpath: object, newpath: object) -> None:
        raise asyncssh.SFTPOpUnsupported("POSIX rename not supported")

    # Plain SFTP v3 rename refuses to replace a file (sshd really does), so this proves the remove step.
    monkeypatch.setattr(asyncssh.SFTPClient, "posix_rename", unsupported)
    await upload(peer.address("exam.pdf"), known_hosts, data=b"%PDF-1.4 first")
    await upload(peer.address("exam.pdf"), known_hosts, data=PDF)
    assert contents(peer.root) == {"exam.pdf": PDF}


@pytest.mark.parametrize(
    ("path", "written"), [("", "sheet.pdf"), ("Sheets", "Sheets/sheet.pdf"), ("Sheets/", "Sheets/sheet.pdf")]
)
async def test_address_naming_a_folder_writes_sheet_pdf_there(
    peer: Peer, known_hosts: Path, path: str, written: str
) -> None:
    assert await upload(peer.address(path), known_hosts) == peer.address(written)
    assert contents(peer.root) == {written: PDF}


async def test_path_after_a_double_slash_is_absolute_on_the_server(peer: Peer, known_hosts: Path) -> None:
    folder = peer.server_path(peer.root / "abs" / "olute")
    address = peer.address(f"{folder}/x.pdf")
    assert "//" in address
    assert await upload(address, known_hosts) == address
    assert contents(peer.root) == {"abs/olute/x.pdf": PDF}


async def test_bad_extension_is_refused_before_any_connection(peer: Peer, known_hosts: Path) -> None:
    # The whole upload, to a server that would take the file: only the refusal keeps it from connecting.
    message = await refused(peer.address("Sheets/exam.docx"), known_hosts)
    assert message.startswith("Invalid file extension.")
    assert peer.connection_count() == 0
    assert contents(peer.root) == {}


async def test_wrong_password_is_refused_without_echoing_it(
    peer: Peer, known_hosts: Path, caplog: pytest.LogCaptureFixture
) -> None:
    wrong = f"{PASSWORD}-wrong"
    message = await refused(peer.address("x.pdf"), known_hosts, password=wrong)
    assert message == (
        f"SFTP server {LOOPBACK}:{peer.port} did not accept the user name and password for {USERNAME}."
    )
    assert wrong not in message
    assert wrong not in caplog.text
    assert_our_failure_was_logged(caplog)
    assert contents(peer.root) == {}


async def test_closed_port_is_reported_as_refusing_the_connection(peer: Peer, known_hosts: Path) -> None:
    port = free_port()
    message = await refused(f"{LOOPBACK}:{port}/x.pdf", known_hosts)
    assert message == f"SFTP server {LOOPBACK}:{port} refused the connection; check the host and port."
    assert peer.connection_count() == 0


async def test_strict_refuses_a_server_missing_from_known_hosts(peer: Peer, known_hosts: Path) -> None:
    message = await refused(peer.address("x.pdf"), known_hosts, policy="strict")
    assert message.startswith(f"SFTP server {LOOPBACK}:{peer.port} is not in the service's known_hosts file")
    assert read_text(known_hosts) is None
    assert contents(peer.root) == {}


async def test_strict_accepts_a_server_whose_key_is_in_known_hosts(peer: Peer, known_hosts: Path) -> None:
    entry = known_hosts_line(LOOPBACK, peer.port, peer.host_key)
    write_file(known_hosts, entry)
    await upload(peer.address("x.pdf"), known_hosts, policy="strict")
    assert contents(peer.root) == {"x.pdf": PDF}
    assert read_text(known_hosts) == entry


async def test_accept_new_remembers_the_first_key_then_refuses_a_changed_one(
    peer: Peer, known_hosts: Path
) -> None:
    # The file's last line lacks its newline, as a hand edit may leave it.
    write_file(known_hosts, "# keys the export service trusts")
    await upload(peer.address("first.pdf"), known_hosts, policy="accept-new")
    remembered = "# keys the export service trusts\n" + known_hosts_line(LOOPBACK, peer.port, peer.host_key)
    assert read_text(known_hosts) == remembered

    await upload(peer.address("second.pdf"), known_hosts, policy="accept-new")
    assert read_text(known_hosts) == remembered

    await peer.rekey()
    message = await refused(peer.address("third.pdf"), known_hosts, policy="accept-new")
    assert message.startswith(f"SFTP server {LOOPBACK}:{peer.port} presented a host key different from")
    assert read_text(known_hosts) == remembered
    assert contents(peer.root) == {"first.pdf": PDF, "second.pdf": PDF}


async def test_revoked_host_key_is_refused_even_under_accept_new(peer: Peer, known_hosts: Path) -> None:
    revoked = "@revoked " + known_hosts_line(LOOPBACK, peer.port, peer.host_key)
    write_file(known_hosts, revoked)
    message = await refused(peer.address("x.pdf"), known_hosts, policy="accept-new")
    assert message == (
        f"SFTP server {LOOPBACK}:{peer.port} presented a host key "
        "the service's known_hosts file marks as revoked."
    )
    assert read_text(known_hosts) == revoked
    assert contents(peer.root) == {}


@pytest.mark.parametrize(
    ("content", "explanation"),
    [
        ("garbage\n", "is invalid: Invalid known hosts entry"),
        (None, "could not be read: Is a directory."),
    ],
)
async def test_unusable_known_hosts_file_is_reported_before_connecting(
    tmp_path: Path, content: str | None, explanation: str
) -> None:
    known_hosts = tmp_path / "known_hosts"
    if content is None:
        lock_folder(known_hosts)
    else:
        write_file(known_hosts, content)
    with pytest.raises(FailedPrecondition) as caught:
        await upload(f"{LOOPBACK}:{free_port()}/x.pdf", known_hosts, policy="strict")
    assert caught.value.message.startswith("The SFTP known_hosts file ")
    assert explanation in caught.value.message


async def test_off_policy_neither_checks_nor_records_host_keys(peer: Peer, known_hosts: Path) -> None:
    stale = known_hosts_line(LOOPBACK, peer.port, asyncssh.generate_private_key("ssh-ed25519"))
    write_file(known_hosts, stale)
    await upload(peer.address("x.pdf"), known_hosts, policy="off")
    assert read_text(known_hosts) == stale
    assert contents(peer.root) == {"x.pdf": PDF}


async def test_allowed_hosts_refuses_other_hosts_before_connecting(peer: Peer, known_hosts: Path) -> None:
    message = await refused(peer.address("x.pdf"), known_hosts, allowed=("sftp.example.com",))
    assert message.startswith(f"SFTP host {LOOPBACK} is not allowed")
    assert peer.connection_count() == 0

    await upload(peer.address("x.pdf"), known_hosts, allowed=("sftp.example.com", LOOPBACK))
    assert contents(peer.root) == {"x.pdf": PDF}


async def test_connection_dropped_mid_upload_leaves_no_file_at_the_target(
    peer: Peer, known_hosts: Path
) -> None:
    async with peer.dropping() as port:
        message = await refused(f"{LOOPBACK}:{port}/Sheets/exam.pdf", known_hosts, data=BIG_PDF)
    assert message == (
        f"SFTP server {LOOPBACK}:{port} closed the connection before Sheets/exam.pdf was written."
    )
    left = contents(peer.root)
    assert "Sheets/exam.pdf" not in left
    # Nothing can be cleaned up over a dead connection: at most a partial, hidden temporary file stays.
    assert all(name.startswith("Sheets/.exam.pdf.") and name.endswith(".part") for name in left)
    assert all(len(data) < len(BIG_PDF) for data in left.values())


@pytest.mark.parametrize(
    ("path", "step"),
    [("locked/x.pdf", "write locked/x.pdf"), ("locked/new/x.pdf", "create folder locked/new")],
)
async def test_permission_denied_is_reported_and_leaves_nothing_behind(
    peer: Peer, known_hosts: Path, path: str, step: str
) -> None:
    lock_folder(peer.root / "locked")
    message = await refused(peer.address(path), known_hosts)
    assert message == f"SFTP server {LOOPBACK}:{peer.port} could not {step}: Permission denied."
    assert contents(peer.root) == {}


async def test_file_in_place_of_a_folder_is_reported(peer: Peer, known_hosts: Path) -> None:
    write_file(peer.root / "Sheets", b"not a folder")
    message = await refused(peer.address("Sheets/2024/x.pdf"), known_hosts)
    assert message == (
        f"SFTP server {LOOPBACK}:{peer.port} could not create folder Sheets: "
        "a file of that name is in the way."
    )


async def test_ipv6_literal_address_uploads_and_is_remembered_in_brackets(
    peer: Peer, known_hosts: Path
) -> None:
    if peer.port6 is None:
        pytest.skip("no IPv6 loopback on this machine")
    address = peer.address("v6/x.pdf", ipv6=True)
    assert await upload(address, known_hosts, policy="accept-new") == address
    assert contents(peer.root) == {"v6/x.pdf": PDF}
    assert read_text(known_hosts) == known_hosts_line("::1", peer.port6, peer.host_key)


# --- server and network misbehaviour ------------------------------------------------------------------------


async def test_failed_write_keeps_the_old_file_and_removes_the_temporary_one(
    tmp_path: Path, known_hosts: Path
) -> None:
    root = tmp_path / "root"
    write_file(root / "Sheets/exam.pdf", b"%PDF-1.4 old")
    async with asyncssh_peer(root, FailingWriteSFTPServer) as failing:
        message = await refused(failing.address("Sheets/exam.pdf"), known_hosts)
    assert message == (
        f"SFTP server {LOOPBACK}:{failing.port} could not write Sheets/exam.pdf: "
        f"{FailingWriteSFTPServer.reason}."
    )
    assert contents(root) == {"Sheets/exam.pdf": b"%PDF-1.4 old"}


async def test_server_quoting_the_password_back_never_gets_it_into_messages_or_logs(
    tmp_path: Path, known_hosts: Path, caplog: pytest.LogCaptureFixture
) -> None:
    async with asyncssh_peer(tmp_path / "root", EchoingSFTPServer) as echoing:
        message = await refused(echoing.address("x.pdf"), known_hosts)
    # The server's reason is left out whole, not masked.
    assert message == f"SFTP server {LOOPBACK}:{echoing.port} could not write x.pdf."
    # Neither asyncssh's records of the reason (server and client side) nor ours carry it.
    assert "quota exceeded" not in caplog.text
    assert STARS not in caplog.text
    assert_our_failure_was_logged(caplog)


@pytest.mark.parametrize(("password", "kept"), [*((p, False) for p in SHORT_PASSWORDS), ("z", True)])
async def test_server_reason_containing_the_password_is_left_out_whole(
    tmp_path: Path, known_hosts: Path, caplog: pytest.LogCaptureFixture, password: str, kept: bool
) -> None:
    async with asyncssh_peer(tmp_path / "root", FailingWriteSFTPServer, password=password) as failing:
        message = await refused(failing.address("Sheets/exam.pdf"), known_hosts, password=password)
    ours = f"SFTP server {LOOPBACK}:{failing.port} could not write Sheets/exam.pdf"
    # "No space left on device" contains each short password but not "z".
    assert message == (f"{ours}: {FailingWriteSFTPServer.reason}." if kept else f"{ours}.")
    assert STARS not in caplog.text
    assert_our_failure_was_logged(caplog)


async def test_silent_server_is_given_up_on_after_the_connect_timeout(known_hosts: Path) -> None:
    async with SilentServer() as port:
        started = time.monotonic()
        message = await refused(f"{LOOPBACK}:{port}/x.pdf", known_hosts, connect_timeout=0.3)
    assert time.monotonic() - started < 3
    assert message == f"SFTP server {LOOPBACK}:{port} did not answer within 0.3 seconds."


async def test_server_that_stops_answering_mid_upload_is_given_up_on(
    tmp_path: Path, known_hosts: Path
) -> None:
    async with asyncssh_peer(tmp_path / "root", StallingSFTPServer) as stalling:
        started = time.monotonic()
        message = await refused(stalling.address("Sheets/x.pdf"), known_hosts, connect_timeout=0.3)
        elapsed = time.monotonic() - started
    assert (
        message
        == f"SFTP server {LOOPBACK}:{stalling.port} stopped answering while trying to write Sheets/x.pdf."
    )
    assert elapsed < 5


async def test_unresolvable_host_is_reported(known_hosts: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    async def no_such_host(*args: object, **kwargs: object) -> NoReturn:
        raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")

    # Resolution is faked so that the test never asks a real DNS server.
    monkeypatch.setattr(asyncio.get_running_loop(), "getaddrinfo", no_such_host)
    message = await refused("sftp.invalid/x.pdf", known_hosts)
    assert message == "SFTP host sftp.invalid could not be found."


async def test_non_ssh_server_is_reported_as_ending_the_connection(known_hosts: Path) -> None:
    async def http(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.readline()
        writer.write(b"HTTP/1.1 400 Bad Request\r\nConnection: close\r\n\r\n")
        await writer.drain()
        writer.close()

    server = await asyncio.start_server(http, LOOPBACK, 0)
    port = server.sockets[0].getsockname()[1]
    async with server:
        message = await refused(f"{LOOPBACK}:{port}/x.pdf", known_hosts)
    assert message.startswith(f"SFTP server {LOOPBACK}:{port} ended the connection:")


async def test_cutting_proxy_relays_a_whole_upload_below_its_limit(tmp_path: Path, known_hosts: Path) -> None:
    async with (
        asyncssh_peer(tmp_path / "root") as direct,
        CuttingProxy(LOOPBACK, direct.port, limit=1 << 24) as port,
    ):
        await upload(f"{LOOPBACK}:{port}/x.pdf", known_hosts, data=BIG_PDF)
    assert contents(direct.root) == {"x.pdf": BIG_PDF}


async def test_empty_user_name_is_refused_before_connecting(known_hosts: Path) -> None:
    with pytest.raises(InvalidArgument, match=r"^SftpUsername is required\.$"):
        await upload_pdf(
            parse_sftp_address(f"{LOOPBACK}:{free_port()}/x.pdf"),
            username="",
            password=PASSWORD,
            data=PDF,
            host_key_policy="off",
            known_hosts=known_hosts,
        )


# --- short passwords ----------------------------------------------------------------------------------------


async def attempt(
    address: str, known_hosts: Path, caplog: pytest.LogCaptureFixture, password: str
) -> tuple[str, list[str]]:
    """The message of a failed upload, and what our own logger said about it."""
    start = len(caplog.records)
    with pytest.raises(InvalidArgument) as caught:
        await upload(address, known_hosts, password=password)
    ours = [r.getMessage() for r in caplog.records[start:] if r.name == "service.sftp"]
    return caught.value.message, ours


def assert_nothing_masked(caplog: pytest.LogCaptureFixture) -> None:
    for record in caplog.records:
        assert STARS not in record.getMessage()
    assert STARS not in caplog.text


@pytest.mark.parametrize("password", SHORT_PASSWORDS)
async def test_short_wrong_password_reads_as_any_other_wrong_password(
    peer: Peer, known_hosts: Path, caplog: pytest.LogCaptureFixture, password: str
) -> None:
    address = peer.address("x.pdf")
    long_message, long_logs = await attempt(address, known_hosts, caplog, f"zz-{secrets.token_urlsafe(24)}")
    message, logs = await attempt(address, known_hosts, caplog, password)
    assert (
        message
        == long_message
        == (f"SFTP server {LOOPBACK}:{peer.port} did not accept the user name and password for {USERNAME}.")
    )
    assert logs == long_logs
    assert logs
    assert_nothing_masked(caplog)
    assert contents(peer.root) == {}


@pytest.mark.parametrize("password", SHORT_PASSWORDS)
async def test_short_password_to_a_closed_port_reads_as_any_other_password(
    known_hosts: Path, caplog: pytest.LogCaptureFixture, password: str
) -> None:
    address = f"{LOOPBACK}:{free_port()}/x.pdf"
    long_message, long_logs = await attempt(address, known_hosts, caplog, f"zz-{secrets.token_urlsafe(24)}")
    message, logs = await attempt(address, known_hosts, caplog, password)
    assert message == long_message
    assert message.endswith("refused the connection; check the host and port.")
    assert logs == long_logs
    assert logs
    assert_nothing_masked(caplog)


async def test_concurrent_uploads_with_different_passwords_each_read_plainly(
    peer: Peer, known_hosts: Path, caplog: pytest.LogCaptureFixture
) -> None:
    address = peer.address("x.pdf")
    messages = await asyncio.gather(
        *(attempt(address, known_hosts, caplog, p) for p in (*SHORT_PASSWORDS, "zz-long-and-wrong"))
    )
    expected = f"SFTP server {LOOPBACK}:{peer.port} did not accept the user name and password for {USERNAME}."
    assert {message for message, _ in messages} == {expected}
    assert_nothing_masked(caplog)
    assert not asyncssh_filters()


async def test_packet_dumps_with_the_password_are_dropped_from_the_logs(
    tmp_path: Path, known_hosts: Path, caplog: pytest.LogCaptureFixture
) -> None:
    # At debug level 3 asyncssh dumps every packet, the password request included, 16 bytes a line: the
    # password never appears whole in the text, only in the packet.
    asyncssh.set_debug_level(3)
    try:
        async with asyncssh_peer(tmp_path / "root") as direct:
            await upload(direct.address("x.pdf"), known_hosts)
    finally:
        asyncssh.set_debug_level(1)
    assert contents(direct.root) == {"x.pdf": PDF}
    dumps = [getattr(r, "packet", None) for r in caplog.records]
    assert any(dumps)
    assert not any(PASSWORD.encode() in dump for dump in dumps if dump)


def asyncssh_filters() -> list[logging.Filter | object]:
    return [f for name in ("asyncssh", "asyncssh.sftp") for f in logging.getLogger(name).filters]


def test_log_guard_drops_records_quoting_any_password_in_use_only_while_it_is_in_use(
    caplog: pytest.LogCaptureFixture,
) -> None:
    ssh, sftp, ours = (logging.getLogger(n) for n in ("asyncssh", "asyncssh.sftp", "service.sftp"))

    def said(logger: logging.Logger, text: str) -> bool:
        caplog.clear()
        logger.info("server said: %s", text)
        return any(r.getMessage() == f"server said: {text}" for r in caplog.records)

    assert not asyncssh_filters()
    with _PASSWORD_GUARD.hiding("first-secret"):
        with _PASSWORD_GUARD.hiding("second-secret"), _PASSWORD_GUARD.hiding("second-secret"):
            assert not said(ssh, "no first-secret here")
            assert not said(sftp, "no second-secret here")
            assert said(ssh, "nothing to hide")
            # Case-sensitive, like the check on messages.
            assert said(ssh, "FIRST-SECRET")
        assert said(sftp, "no second-secret here")
        assert not said(sftp, "no first-secret here")
        # A record quoting the password is dropped, never rewritten.
        assert STARS not in caplog.text
        # Only asyncssh's loggers are guarded: our own records never carry the password by construction.
        assert said(ours, "plain")
        with _PASSWORD_GUARD.hiding(""):
            assert said(ssh, "an empty password hides nothing")
    assert said(ssh, "no first-secret here")
    assert not asyncssh_filters()


def test_log_guard_drops_records_it_cannot_format_or_whose_traceback_quotes_the_password(
    caplog: pytest.LogCaptureFixture,
) -> None:
    ssh = logging.getLogger("asyncssh")
    with _PASSWORD_GUARD.hiding("the-secret"):
        try:
            raise ValueError("rejected the-secret")
        except ValueError:
            ssh.exception("request failed")
        ssh.info("%s %s", "one argument short")
    assert not caplog.records


# --- checks before connecting -------------------------------------------------------------------------------


def test_check_target_refuses_what_needs_no_connection_to_refuse() -> None:
    target = parse_sftp_address("SFTP.Example.com./Sheets/x.pdf")
    check_target(target, username=USERNAME, allowed_hosts=())
    check_target(target, username=USERNAME, allowed_hosts=("other.example.com", "sftp.example.com"))

    with pytest.raises(InvalidArgument) as caught:
        check_target(target, username="", allowed_hosts=())
    assert (caught.value.message, caught.value.field) == ("SftpUsername is required.", "SftpUsername")

    with pytest.raises(InvalidArgument) as caught:
        check_target(target, username="jones\nroot", allowed_hosts=())
    assert caught.value.message == "SftpUsername is invalid: it contains control characters."

    with pytest.raises(InvalidArgument) as caught:
        check_target(target, username=USERNAME, allowed_hosts=("other.example.com",))
    assert caught.value.message == (
        "SFTP host SFTP.Example.com. is not allowed: it is not among the hosts this service may export to."
    )
    assert caught.value.field == "SftpAddress"

    v6 = parse_sftp_address("[0:0::1]:2222/x.pdf")
    check_target(v6, username=USERNAME, allowed_hosts=("::1",))


# --- the cost of an export ----------------------------------------------------------------------------------


class _AskedServer(PermissionsSFTPServer):
    """Records every question about a path and every folder made."""

    asked: ClassVar[list[str]] = []

    def stat(self, path: bytes) -> Any:
        self.asked.append("stat")
        return super().stat(path)

    def lstat(self, path: bytes) -> Any:
        self.asked.append("lstat")
        return super().lstat(path)

    def mkdir(self, path: bytes, attrs: asyncssh.SFTPAttrs) -> Any:
        self.asked.append("mkdir")
        return super().mkdir(path, attrs)


async def test_an_upload_into_a_folder_that_exists_asks_nothing_about_the_folder(
    tmp_path: Path, known_hosts: Path
) -> None:
    _AskedServer.asked = []
    async with asyncssh_peer(tmp_path / "root", _AskedServer) as peer:
        (peer.root / "Sheets").mkdir()
        await upload(peer.address("Sheets/x.pdf"), known_hosts)
        assert _AskedServer.asked == []
        # A missing one is still made, once the open says it is missing.
        await upload(peer.address("Sheets/2026/x.pdf"), known_hosts)
        assert "mkdir" in _AskedServer.asked
    assert contents(peer.root) == {"Sheets/x.pdf": PDF, "Sheets/2026/x.pdf": PDF}


@pytest.mark.parametrize(
    ("offered", "agreed"),
    [
        (None, "aes128-gcm@openssh.com"),
        (["chacha20-poly1305@openssh.com"], "chacha20-poly1305@openssh.com"),
        (["aes256-ctr"], "aes256-ctr"),
    ],
)
async def test_an_upload_prefers_aes_gcm_and_takes_what_a_server_without_it_offers(
    tmp_path: Path, known_hosts: Path, offered: list[str] | None, agreed: str
) -> None:
    ciphers: list[str] = []

    class Server(asyncssh.SSHServer):
        def connection_made(self, conn: asyncssh.SSHServerConnection) -> None:
            self._conn = conn

        def begin_auth(self, username: str) -> bool:
            ciphers.append(self._conn.get_extra_info("recv_cipher"))
            return True

        def password_auth_supported(self) -> bool:
            return True

        def validate_password(self, username: str, password: str) -> bool:
            return password == PASSWORD

    root = tmp_path / "root"
    root.mkdir()
    options: dict[str, Any] = {} if offered is None else {"encryption_algs": offered}
    acceptor = await asyncssh.listen(
        LOOPBACK,
        0,
        server_host_keys=[asyncssh.generate_private_key("ssh-ed25519")],
        server_factory=Server,
        sftp_factory=lambda chan: asyncssh.SFTPServer(chan, chroot=os.fsencode(root)),
        **options,
    )
    try:
        await upload(f"{LOOPBACK}:{acceptor.get_port()}/x.pdf", known_hosts)
    finally:
        acceptor.close()
        await acceptor.wait_closed()
    assert ciphers == [agreed]
    assert contents(root) == {"x.pdf": PDF}
