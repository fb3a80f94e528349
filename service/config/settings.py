"""Configuration: every option is an environment variable `SHEETS_*`."""

from __future__ import annotations

import ipaddress
import os
from pathlib import Path
from typing import Annotated, Literal

from pydantic import Field, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from service.config.tls import ServerTls
from service.contract import ApiKey, parse_api_keys


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

    model_config = SettingsConfigDict(env_prefix="SHEETS_", extra="ignore", use_attribute_docstrings=True)

    data_dir: Path = Path("data")
    """Holds the embedded SQLite database and the SFTP known_hosts file."""
    database_url: str = ""
    """SQLAlchemy async URL: `mysql+asyncmy://user:pw@host/db` (Open Dental's MariaDB/MySQL),
    `postgresql+asyncpg://…`; unset: SQLite `$SHEETS_DATA_DIR/sheets.db`."""
    db_pool_size: int = Field(default=5, ge=1)
    """Connections each replica keeps open to MariaDB/PostgreSQL (SQLite: a fixed 2)."""
    db_max_overflow: int = Field(default=10, ge=0)
    """Extra connections a replica may open beyond the pool under load."""
    db_pool_timeout: float = Field(default=30.0, gt=0)
    """Seconds a call waits for a free connection before it fails."""
    db_share_reads: bool = True
    """MariaDB/PostgreSQL: identical reads at once (the same patient's list, the same sheet) share one
    query, never one sent before they arrived; false: every read sends its own."""
    grpc_listen: str = "127.0.0.1:50051"
    """gRPC listener `host:port`."""
    http_listen: str = "127.0.0.1:30222"
    """REST gateway listener `host:port`."""
    gateway: bool = True
    """Run the REST gateway in the service process."""
    api_keys: Annotated[tuple[ApiKey, ...], NoDecode] = ()
    """`DeveloperKey/CustomerKey[=read|=all],…`; unset: auth off, loopback only."""
    page_limit: int = Field(default=1000, ge=1, le=10_000)
    """Default and maximum `Limit` of list calls, as Open Dental's Local API (its Remote API: 100)."""
    max_body_bytes: int = Field(default=1 << 20, ge=1024)
    """Larger REST bodies get 413."""
    grace_seconds: float = Field(default=10.0, ge=0)
    """How long calls in flight may finish on SIGTERM."""
    practice_title: str = "Open Dental Sheets Demo Practice"
    """Practice name filled into sheets where the database has no `preference` rows for the practice."""
    practice_address: str = "100 Main Street"
    """Practice address line 1."""
    practice_address2: str = ""
    """Practice address line 2."""
    practice_city: str = "Springfield"
    """Practice city."""
    practice_st: str = "OR"
    """Practice state."""
    practice_zip: str = "97477"
    """Practice ZIP code."""
    practice_phone: str = "5415550100"
    """Practice phone number."""
    culture: str = "en-US"
    """Dates, times and money as Open Dental prints them in that culture (.NET's patterns): `en-US`, `en-CA`,
    `en-GB`, `en-AU`, `es-MX`, `fr-CA`."""
    sftp_host_keys: Literal["accept-new", "strict", "off"] = "accept-new"
    """SFTP host key policy: `accept-new` (trust on first use), `strict` (known_hosts only), `off` (tests)."""
    sftp_allowed_hosts: Annotated[tuple[str, ...], NoDecode] = ()
    """Comma-separated hosts SFTP export may connect to; unset: any."""
    sftp_connect_timeout: float = Field(default=10.0, gt=0)
    """Seconds an SFTP connection may take."""
    render_workers: int = Field(default=0, ge=0)
    """PDF rendering processes; 0: one per CPU."""
    font_dirs: Annotated[tuple[Path, ...], NoDecode] = ()
    """Folders searched for the PDF fonts before the system's (os.pathsep or comma separated)."""
    images_dir: Path | None = None
    """Open Dental's A-to-Z images folder: Image fields print from its `SheetImages`."""
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
    render_layout_cache_size: int = Field(default=4096, ge=0)
    """StaticText layouts each PDF worker keeps for later renders (filled-in ones may hold a patient's
    name; in memory only, least recently used dropped first); 0: none."""
    list_cache_size: int = Field(default=16_384, ge=0)
    """Converted sheets ListSheets keeps for lists read again (they hold InternalNote and Description; in
    memory only, least recently used dropped first); 0: none."""
    log_format: Literal["auto", "json", "console"] = "auto"
    """Log lines as `json`, or `console` (key=value); `auto`: key=value on a terminal, else JSON."""
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    """Lowest level logged (DEBUG adds health checks and scrapes)."""
    readiness_interval: float = Field(default=2.0, gt=0)
    """Seconds between the background database checks that set gRPC health."""
    readiness_timeout: float = Field(default=2.0, gt=0)
    """Seconds the database may take to answer a readiness check."""
    events: bool = True
    """Deliver sheet events to the subscriptions' endpoints from this replica (off: serve the API only)."""
    events_max_subscriptions: int = Field(default=20, ge=1)
    """Subscriptions one customer key may have."""
    events_batch_size: int = Field(default=1000, ge=1, le=1000)
    """Sheets in one event call at most (Open Dental's limit: 1000)."""
    events_call_timeout: float = Field(default=10.0, gt=0)
    """Seconds a receiver may take to answer an event call; slower is a failure, retried."""
    events_backoff_cap: float = Field(default=300.0, gt=0)
    """Longest wait, in seconds, before a failed call is retried (the wait doubles from PollingSeconds)."""
    events_lease_seconds: float = Field(default=30.0, gt=0)
    """How long a replica's claim on a subscription lasts unrenewed: another takes over after it."""
    events_tick_seconds: float = Field(default=0.5, gt=0)
    """Seconds between a replica's looks for subscriptions due (and streams' looks for changes)."""
    events_settle_seconds: int = Field(default=1, ge=0)
    """Whole seconds a change waits before it is sent: Open Dental's times have whole seconds, so a second
    is sent once it has ended, and a sheet edited twice within it is sent with its last edit."""
    events_concurrency: int = Field(default=8, ge=1)
    """Subscriptions one replica delivers at once."""
    events_allowed_hosts: Annotated[tuple[str, ...], NoDecode] = ()
    """Comma-separated hosts events may be sent to; unset: any."""
    events_allow_http: bool = False
    """Allow plain http endpoints off loopback (https otherwise)."""

    @field_validator("api_keys", mode="before")
    @classmethod
    def _parse_keys(cls, value: object) -> object:
        return parse_api_keys(value) if isinstance(value, str) else value

    @field_validator("culture")
    @classmethod
    def _known_culture(cls, value: str) -> str:
        from service.vocab import culture

        return culture(value).name

    @field_validator("font_dirs", mode="before")
    @classmethod
    def _parse_dirs(cls, value: object) -> object:
        if isinstance(value, str):
            parts = value.replace(",", os.pathsep).split(os.pathsep)
            return tuple(Path(part.strip()) for part in parts if part.strip())
        return value

    @field_validator("sftp_allowed_hosts", "events_allowed_hosts", mode="before")
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
        if self.events_lease_seconds <= self.events_call_timeout:
            raise ValueError(
                "SHEETS_EVENTS_LEASE_SECONDS must be longer than SHEETS_EVENTS_CALL_TIMEOUT: "
                "a lease must outlast the call it covers"
            )
        return self

    def engine_options(self) -> dict[str, int | float]:
        """Pool settings for `db.create_engine` (SQLite keeps its own fixed pool)."""
        if self.database_url.startswith("sqlite"):
            return {}
        return {
            "pool_size": self.db_pool_size,
            "max_overflow": self.db_max_overflow,
            "pool_timeout": self.db_pool_timeout,
        }

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
