"""Delivering a PDF by SFTP: the address, the host-key policy, the upload."""

from service.sftp.upload import asyncssh, check_target, parse_sftp_address, upload_pdf

__all__ = [
    "asyncssh",
    "check_target",
    "parse_sftp_address",
    "upload_pdf",
]
