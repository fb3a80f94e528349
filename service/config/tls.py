"""TLS for both surfaces: gRPC server credentials, the gateway's SSL context,
and the remote gateway's channel to its target.

Certificates are read once, at start; a file that cannot be read or does not
hold what it should stops the start with a one-line reason naming the setting
(never the file's content: a key must not reach a log).
"""

from __future__ import annotations

import ssl
from dataclasses import dataclass
from pathlib import Path

import grpc

CERT_SETTING = "SHEETS_TLS_CERT_FILE"


class TlsConfigError(ValueError):
    """A certificate, key or CA file that cannot be used; the message names the setting."""


def _read(path: Path, setting: str) -> bytes:
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise TlsConfigError(f"{setting}: cannot read {path}: {exc.strerror or exc}.") from None
    if b"-----BEGIN " not in data:
        raise TlsConfigError(f"{setting}: {path} is not a PEM file.")
    return data


@dataclass(frozen=True, slots=True)
class ServerTls:
    """The server's certificate chain and key, and optionally the CAs whose
    client certificates gRPC requires (mTLS)."""

    cert_file: Path
    key_file: Path
    client_ca_file: Path | None = None

    def grpc_credentials(self) -> grpc.ServerCredentials:
        cert = _read(self.cert_file, CERT_SETTING)
        key = _read(self.key_file, "SHEETS_TLS_KEY_FILE")
        client_ca = _read(self.client_ca_file, "SHEETS_TLS_CLIENT_CA_FILE") if self.client_ca_file else None
        # Checked with the ssl module first: gRPC reports a mismatched or broken
        # pair only as a failed bind, without saying why.
        self.ssl_context()
        return grpc.ssl_server_credentials(
            [(key, cert)], root_certificates=client_ca, require_client_auth=client_ca is not None
        )

    def ssl_context(self) -> ssl.SSLContext:
        """The REST gateway's context (TLS 1.2+; client certificates are for gRPC's internal callers)."""
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.minimum_version = ssl.TLSVersion.TLSv1_2
        _read(self.cert_file, CERT_SETTING)
        _read(self.key_file, "SHEETS_TLS_KEY_FILE")
        try:
            context.load_cert_chain(self.cert_file, self.key_file)
        except (ssl.SSLError, ValueError):
            raise TlsConfigError(
                f"{CERT_SETTING} and SHEETS_TLS_KEY_FILE: the certificate and key do not form a usable pair."
            ) from None
        context.set_alpn_protocols(["http/1.1"])
        return context


@dataclass(frozen=True, slots=True)
class ClientTls:
    """How the remote gateway verifies its gRPC target, and the certificate it
    shows when the target requires one."""

    ca_file: Path
    cert_file: Path | None = None
    key_file: Path | None = None

    def grpc_credentials(self) -> grpc.ChannelCredentials:
        ca = _read(self.ca_file, "--target-ca")
        cert = _read(self.cert_file, "--target-cert") if self.cert_file else None
        key = _read(self.key_file, "--target-key") if self.key_file else None
        if (cert is None) != (key is None):
            raise TlsConfigError("--target-cert and --target-key go together.")
        return grpc.ssl_channel_credentials(root_certificates=ca, private_key=key, certificate_chain=cert)
