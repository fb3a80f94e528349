"""Configuration: every option is an environment variable `SHEETS_*`."""

from __future__ import annotations

import ipaddress
import os
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Literal

from pydantic import Field, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from service.tls import ServerTls


class Permission(StrEnum):
    READ = "read"
    ALL = "all"


@dataclass(frozen=True, slots=True)
class ApiKey:
    """One `DeveloperKey/CustomerKey` pair and what it may do."""

    developer_key: str
    customer_key: str
    permission: Permission

    @property
    def header_value(self) -> str:
        return f"ODFHIR {self.developer_key}/{self.customer_key}"


def parse_api_keys(text: str) -> tuple[ApiKey, ...]:
    """Parse `Dev/Cust[=read|=all],…`; raises ValueError without echoing a key."""
    keys = []
    for n, item in enumerate((part.strip() for part in text.split(",")), start=1):
        if not item:
            continue
        pair, _, perm = item.partition("=")
        developer, sep, customer = pair.partition("/")
        if not sep or not developer.strip() or not customer.strip() or "/" in customer:
            raise ValueError(f"SHEETS_API_KEYS entry {n} is not DeveloperKey/CustomerKey[=read|=all].")
        try:
            permission = Permission(perm.strip().lower() or "all")
        except ValueError:
            raise ValueError(f"SHEETS_API_KEYS entry {n} has a permission other than read or all.") from None
        keys.append(ApiKey(developer.strip(), customer.strip(), permission))
    return tuple(keys)


def is_loopback(listen: str) -> bool:
    """Whether a `host:port` listener address is on loopback only."""
    host = listen.rsplit(":", 1)[0].strip("[]")
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


class Settings(BaseSettings):
    """The service's settings; see the README for the table."""

    model_config = SettingsConfigDict(env_prefix="SHEETS_", extra="ignore")

    data_dir: Path = Path("data")
    database_url: str = Field(default="", description="SQLAlchemy async URL; default: SQLite in data_dir")
    grpc_listen: str = "127.0.0.1:50051"
    http_listen: str = "127.0.0.1:30222"
    gateway: bool = True
    api_keys: Annotated[tuple[ApiKey, ...], NoDecode] = ()
    page_limit: int = Field(default=100, ge=1, le=10_000)
    max_body_bytes: int = Field(default=1 << 20, ge=1024)
    grace_seconds: float = Field(default=10.0, ge=0)
    practice_title: str = "Open Dental Sheets Demo Practice"
    practice_address: str = "100 Main Street"
    practice_address2: str = ""
    practice_city: str = "Springfield"
    practice_st: str = "OR"
    practice_zip: str = "97477"
    practice_phone: str = "5415550100"
    culture: str = Field(default="en-US", description="Dates, times and money as this culture prints them")
    sftp_host_keys: Literal["accept-new", "strict", "off"] = "accept-new"
    sftp_allowed_hosts: Annotated[tuple[str, ...], NoDecode] = ()
    sftp_connect_timeout: float = Field(default=10.0, gt=0)
    render_workers: int = Field(default=0, ge=0, description="PDF worker processes; 0: one per CPU")
    font_dirs: Annotated[tuple[Path, ...], NoDecode] = Field(
        default=(),
        description="folders searched for the PDF fonts before the system's (os.pathsep or comma separated)",
    )
    images_dir: Path | None = Field(
        default=None,
        description="Open Dental's A-to-Z images folder: Image fields print from its SheetImages",
    )
    tls_cert_file: Path | None = Field(default=None, description="PEM certificate chain: TLS on both")
    tls_key_file: Path | None = Field(default=None, description="PEM private key of tls_cert_file")
    tls_client_ca_file: Path | None = Field(
        default=None, description="PEM CAs: gRPC requires a client certificate they signed (mTLS)"
    )
    allow_plaintext: bool = Field(
        default=False, description="serve off loopback without TLS (behind a TLS-terminating proxy)"
    )
    request_timeout: float = Field(default=60.0, gt=0, description="seconds a REST request may take (504)")
    max_concurrent_renders: int = Field(default=4, ge=1, description="renders and exports running at once")
    render_queue: int = Field(default=8, ge=0, description="renders and exports waiting; beyond: 429")
    rate_limit: float = Field(
        default=0.0, ge=0, description="requests per second per customer key (token bucket); 0: off"
    )
    rate_burst: int = Field(default=20, ge=1, description="requests a customer key may make at once")
    render_warmup: bool = Field(
        default=True, description="start the PDF workers with the service and lay out the definitions in use"
    )

    @field_validator("api_keys", mode="before")
    @classmethod
    def _parse_keys(cls, value: object) -> object:
        return parse_api_keys(value) if isinstance(value, str) else value

    @field_validator("culture")
    @classmethod
    def _known_culture(cls, value: str) -> str:
        from service.culture import culture

        return culture(value).name

    @field_validator("font_dirs", mode="before")
    @classmethod
    def _parse_dirs(cls, value: object) -> object:
        if isinstance(value, str):
            parts = value.replace(",", os.pathsep).split(os.pathsep)
            return tuple(Path(part.strip()) for part in parts if part.strip())
        return value

    @field_validator("sftp_allowed_hosts", mode="before")
    @classmethod
    def _parse_hosts(cls, value: object) -> object:
        if isinstance(value, str):
            return tuple(h.strip().lower() for h in value.split(",") if h.strip())
        return value

    @model_validator(mode="after")
    def _defaults(self) -> Settings:
        if not self.database_url:
            self.database_url = f"sqlite+aiosqlite:///{self.data_dir / 'sheets.db'}"
        if (self.tls_cert_file is None) != (self.tls_key_file is None):
            raise ValueError("SHEETS_TLS_CERT_FILE and SHEETS_TLS_KEY_FILE go together")
        if self.tls_client_ca_file is not None and self.tls_cert_file is None:
            raise ValueError("SHEETS_TLS_CLIENT_CA_FILE needs SHEETS_TLS_CERT_FILE and SHEETS_TLS_KEY_FILE")
        return self

    @property
    def auth_enabled(self) -> bool:
        return bool(self.api_keys)

    @property
    def server_tls(self) -> ServerTls | None:
        """The listeners' certificate, or None to serve plaintext."""
        if self.tls_cert_file is None or self.tls_key_file is None:
            return None
        return ServerTls(self.tls_cert_file, self.tls_key_file, self.tls_client_ca_file)

    def check_listeners(self, *listeners: str) -> None:
        """Refuse to serve without keys, or in plaintext, on anything but loopback."""
        exposed = [listen for listen in listeners if not is_loopback(listen)]
        if exposed and not self.auth_enabled:
            raise ValueError(
                f"SHEETS_API_KEYS must be set to listen on {', '.join(exposed)}: "
                "without keys the service only listens on loopback."
            )
        if exposed and self.server_tls is None and not self.allow_plaintext:
            raise ValueError(
                f"SHEETS_TLS_CERT_FILE (and SHEETS_TLS_KEY_FILE) must be set to listen on "
                f"{', '.join(exposed)}: keys and patient data would cross the network in plaintext. "
                "Behind a TLS-terminating proxy, set SHEETS_ALLOW_PLAINTEXT=true."
            )
