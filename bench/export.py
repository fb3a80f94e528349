"""P10: the 249-field sheet's ExportSheetSftp to a local SFTP server, sustained, next to rendering alone.

The SFTP server is a process of its own (`python -m bench.export`: asyncssh on
loopback, password login), pinned with the load generators: the far side of
an export is not the service's work. Each export connects, checks the host
key, uploads and closes, as the service always does. 4 calls in flight on
each side; runs alternate.
"""

from __future__ import annotations

import asyncio
import json
import secrets
import sys
import tempfile
from pathlib import Path

from bench import runner
from bench.runner import Grpc, Result, Server, serving
from opendental.sheets.v1 import sheet_service_pb2 as pb
from service.sftp import asyncssh

IN_FLIGHT = 4
SFTP_USER = "bench"


def measure(database: str = "sqlite", url: str = "") -> list[Result]:
    with serving(*runner.database_args(url)) as server:
        peer = Server(
            scratch=server.scratch,
            argv=[runner.python(), "-m", "bench.export"],
            core=runner.load_core(),
        )
        try:
            sheet_num = server.ready["medical_sheets"][0]
            render = Grpc(
                server, runner.GRPC_PATH + "RenderSheetPdf", pb.RenderSheetPdfRequest(sheet_num=sheet_num)
            )
            export = Grpc(
                server,
                runner.GRPC_PATH + "ExportSheetSftp",
                pb.ExportSheetSftpRequest(
                    sheet_num=sheet_num,
                    sftp_address=f"127.0.0.1:{peer.ready['port']}/exports/medical-history.pdf",
                    sftp_username=SFTP_USER,
                    sftp_password=peer.ready["password"],
                ),
            )
            ratios, renders, exports = [], [], []
            for _ in range(max(runner.RUNS, 3)):
                rendered = render.for_seconds(runner.SECONDS, IN_FLIGHT).rate
                exported = export.for_seconds(runner.SECONDS, IN_FLIGHT).rate
                renders.append(rendered)
                exports.append(exported)
                ratios.append(exported / rendered)
        finally:
            peer.stop()
    return [
        Result(
            "P10",
            "249-field ExportSheetSftp to a local SFTP server / RenderSheetPdf, sustained",
            database,
            runner.Figure(ratios),
            ">= 0.5",
            f"{runner.Figure(exports).median:.1f}/s vs {runner.Figure(renders).median:.1f}/s",
        )
    ]


class _SftpUser(asyncssh.SSHServer):
    def __init__(self, password: str) -> None:
        self._password = password

    def begin_auth(self, username: str) -> bool:
        return True

    def password_auth_supported(self) -> bool:
        return True

    def validate_password(self, username: str, password: str) -> bool:
        return username == SFTP_USER and secrets.compare_digest(password, self._password)


async def _serve_sftp(root: Path) -> None:
    password = secrets.token_urlsafe(16)
    acceptor = await asyncssh.listen(
        "127.0.0.1",
        0,
        server_host_keys=[asyncssh.generate_private_key("ssh-ed25519")],
        server_factory=lambda: _SftpUser(password),
        sftp_factory=lambda chan: asyncssh.SFTPServer(chan, chroot=bytes(root)),
    )
    print(json.dumps({"port": acceptor.get_port(), "password": password}), flush=True)
    await asyncio.to_thread(sys.stdin.read)
    acceptor.close()


def main() -> None:
    with tempfile.TemporaryDirectory(prefix="sheets-bench-sftp-") as root:
        asyncio.run(_serve_sftp(Path(root)))


if __name__ == "__main__":
    main()
