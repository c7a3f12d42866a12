"""Settings read from LOCALSECTION_* environment variables."""

from __future__ import annotations

import os
from dataclasses import dataclass, field, replace
from pathlib import Path


def _env(name: str, default: str) -> str:
    return os.environ.get(f"LOCALSECTION_{name}", default)


def _env_int(name: str, default: int) -> int:
    raw = os.environ.get(f"LOCALSECTION_{name}")
    return int(raw) if raw not in (None, "") else default


def _env_bool(name: str, default: bool) -> bool:
    raw = os.environ.get(f"LOCALSECTION_{name}")
    if raw in (None, ""):
        return default
    return raw.strip().lower() in ("1", "true", "yes", "on")


@dataclass(frozen=True)
class Settings:
    """Everything configurable; build with `Settings.from_env()` or directly in tests."""

    data_dir: Path = Path("data")
    database_url: str = ""
    durability: str = "full"  # full | normal -> SQLite synchronous FULL / NORMAL
    host: str = "127.0.0.1"
    port: int = 8000
    domain: str = "localhost"  # accounts are served at <account>.<domain>
    public_url: str = ""  # e.g. https://{account}.tracker.example.com; empty = from the request
    default_account: str = ""  # empty = the account created first
    admin_token_window: int = 300  # seconds of clock skew accepted for "Authorization: Admin"
    max_body_bytes: int = 110 * 1024 * 1024
    max_url_bytes: int = 16 * 1024
    max_file_bytes: int = 100 * 1024 * 1024
    max_params_bytes: int = 2 * 1024 * 1024  # body of an API request that carries no file upload
    max_oauth_body_bytes: int = 64 * 1024  # body of /oauth2/token, /oauth2/refresh, /oauth2/resource, login
    legacy_md5: bool = True  # accept the old md5(page + action + key) signature (signs no parameters)
    trusted_proxies: str = ""  # comma list of proxy addresses whose X-Forwarded-For is believed
    max_header_bytes: int = 64 * 1024  # request line + headers of one request
    max_headers: int = 100  # header lines of one request
    header_timeout: float = 10.0  # seconds to receive a request's headers
    keep_alive_timeout: float = 5.0  # seconds an idle keep-alive connection stays open
    record_cap: int = 0  # 0 = no cap; 10000 reproduces the real service
    rate_limit_per_second: float = 0.0  # 0 = off
    rate_limit_burst: int = 5
    timezone: str = "UTC"
    allow_private_webhooks: bool = False
    run_webhook_worker: bool = True
    webhook_timeout: float = 5.0  # seconds per probe / delivery attempt
    webhook_retry_base: float = 2.0  # backoff after the n-th failure: base * 2**(n-1), capped at retry_max
    webhook_retry_max: float = 300.0
    webhook_pause_after: int = 10  # consecutive failed attempts that pause a webhook
    webhook_retention_days: int = 30  # pending events of a paused webhook are kept this long
    webhook_poll_interval: float = 0.5
    webhook_lease_seconds: float = 120.0  # a claimed outbox row is another worker's again after this
    webhook_concurrency: int = 8  # webhooks delivered in parallel by one worker
    webhook_batch_max: int = 100  # events sent in one POST when a webhook has a backlog
    log_level: str = "info"
    oauth_private_key_file: str = ""  # PEM RSA key for access tokens; empty = generated in data_dir
    unsafe_test_clock: bool = False  # tests only: POST /__test__/clock moves the server clock
    extra: dict[str, str] = field(default_factory=dict)

    @classmethod
    def from_env(cls) -> Settings:
        data_dir = Path(_env("DATA_DIR", "data"))
        return cls(
            data_dir=data_dir,
            database_url=_env("DATABASE_URL", ""),
            durability=_env("DURABILITY", "full").lower(),
            host=_env("HOST", "127.0.0.1"),
            port=_env_int("PORT", 8000),
            domain=_env("DOMAIN", "localhost").lower(),
            public_url=_env("PUBLIC_URL", ""),
            default_account=_env("DEFAULT_ACCOUNT", ""),
            admin_token_window=_env_int("ADMIN_TOKEN_WINDOW", 300),
            max_body_bytes=_env_int("MAX_BODY_BYTES", 110 * 1024 * 1024),
            max_url_bytes=_env_int("MAX_URL_BYTES", 16 * 1024),
            max_file_bytes=_env_int("MAX_FILE_BYTES", 100 * 1024 * 1024),
            max_params_bytes=_env_int("MAX_PARAMS_BYTES", 2 * 1024 * 1024),
            max_oauth_body_bytes=_env_int("MAX_OAUTH_BODY_BYTES", 64 * 1024),
            legacy_md5=_env_bool("LEGACY_MD5", True),
            trusted_proxies=_env("TRUSTED_PROXIES", ""),
            max_header_bytes=_env_int("MAX_HEADER_BYTES", 64 * 1024),
            max_headers=_env_int("MAX_HEADERS", 100),
            header_timeout=float(_env("HEADER_TIMEOUT", "10") or 10),
            keep_alive_timeout=float(_env("KEEP_ALIVE_TIMEOUT", "5") or 5),
            record_cap=_env_int("RECORD_CAP", 0),
            rate_limit_per_second=float(_env("RATE_LIMIT", "0") or 0),
            rate_limit_burst=_env_int("RATE_LIMIT_BURST", 5),
            timezone=_env("TIMEZONE", "UTC"),
            allow_private_webhooks=_env_bool("ALLOW_PRIVATE_WEBHOOKS", False),
            run_webhook_worker=_env_bool("WEBHOOK_WORKER", True),
            webhook_timeout=float(_env("WEBHOOK_TIMEOUT", "5") or 5),
            webhook_retry_base=float(_env("WEBHOOK_RETRY_BASE", "2") or 2),
            webhook_retry_max=float(_env("WEBHOOK_RETRY_MAX", "300") or 300),
            webhook_pause_after=_env_int("WEBHOOK_PAUSE_AFTER", 10),
            webhook_retention_days=_env_int("WEBHOOK_RETENTION_DAYS", 30),
            webhook_poll_interval=float(_env("WEBHOOK_POLL_INTERVAL", "0.5") or 0.5),
            webhook_lease_seconds=float(_env("WEBHOOK_LEASE_SECONDS", "120") or 120),
            webhook_concurrency=_env_int("WEBHOOK_CONCURRENCY", 8),
            webhook_batch_max=_env_int("WEBHOOK_BATCH_MAX", 100),
            log_level=_env("LOG_LEVEL", "info"),
            oauth_private_key_file=_env("OAUTH_PRIVATE_KEY_FILE", ""),
            unsafe_test_clock=_env_bool("UNSAFE_TEST_CLOCK", False),
        )

    @property
    def effective_database_url(self) -> str:
        """The SQLAlchemy URL: LOCALSECTION_DATABASE_URL, else SQLite in the data directory."""
        if self.database_url:
            url = self.database_url
            if url.startswith("postgresql://") or url.startswith("postgres://"):
                url = "postgresql+psycopg://" + url.split("://", 1)[1]
            return url
        return f"sqlite:///{(self.data_dir / 'localsection.db').resolve()}"

    def with_(self, **changes: object) -> Settings:
        """A copy with some fields changed (tests)."""
        return replace(self, **changes)  # type: ignore[arg-type]
