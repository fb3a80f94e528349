"""Configuration: the `SHEETS_*` settings and the TLS material they name."""

from service.config.settings import Settings
from service.config.tls import ClientTls, TlsConfigError

__all__ = [
    "ClientTls",
    "Settings",
    "TlsConfigError",
]
