"""P10: the 249-field sheet's ExportSheetSftp to a local SFTP server, sustained, next to rendering alone.

bench.server serves an SFTP server on loopback (asyncssh, password login);
each export connects, checks the host key, uploads and closes, as a caller's
would. 4 calls in flight on each side; runs alternate.
"""

from __future__ import annotations

from bench import runner
from bench.runner import Grpc, Result, serving
from opendental.sheets.v1 import sheet_service_pb2 as pb

IN_FLIGHT = 4


def measure() -> list[Result]:
    with serving("--sftp") as server:
        ready = server.ready
        sheet_num = ready["medical_sheets"][0]
        render = Grpc(
            server, runner.GRPC_PATH + "RenderSheetPdf", pb.RenderSheetPdfRequest(sheet_num=sheet_num)
        )
        export = Grpc(
            server,
            runner.GRPC_PATH + "ExportSheetSftp",
            pb.ExportSheetSftpRequest(
                sheet_num=sheet_num,
                sftp_address=f"127.0.0.1:{ready['sftp_port']}/exports/medical-history.pdf",
                sftp_username=ready["sftp_user"],
                sftp_password=ready["sftp_password"],
            ),
        )
        ratios, renders, exports = [], [], []
        for _ in range(max(runner.RUNS, 3)):
            rendered = render.for_seconds(runner.SECONDS, IN_FLIGHT).rate
            exported = export.for_seconds(runner.SECONDS, IN_FLIGHT).rate
            renders.append(rendered)
            exports.append(exported)
            ratios.append(exported / rendered)
    return [
        Result(
            "P10",
            "249-field ExportSheetSftp to a local SFTP server / RenderSheetPdf, sustained",
            "sqlite",
            runner.Figure(ratios),
            ">= 0.5",
            f"{runner.Figure(exports).median:.1f}/s vs {runner.Figure(renders).median:.1f}/s",
        )
    ]
