"""Delivering a PDF by SFTP: the address, the host-key policy, the upload."""

from service.sftp.address import DEFAULT_PORT, SftpTarget, check_target, parse_sftp_address
from service.sftp.hostkeys import HOST_KEY_POLICIES
from service.sftp.ssh import asyncssh
from service.sftp.upload import upload_pdf

__all__ = [
    "DEFAULT_PORT",
    "HOST_KEY_POLICIES",
    "SftpTarget",
    "asyncssh",
    "check_target",
    "parse_sftp_address",
    "upload_pdf",
]
