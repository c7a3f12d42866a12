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
    record_cap: int = 0  # 0 = no cap; 10000 reproduces the real service
    rate_limit_per_second: float = 0.0  # 0 = off
    rate_limit_burst: int = 5
    timezone: str = "UTC"
    allow_private_webhooks: bool = False
    run_webhook_worker: bool = True
    log_level: str = "info"
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
            record_cap=_env_int("RECORD_CAP", 0),
            rate_limit_per_second=float(_env("RATE_LIMIT", "0") or 0),
            rate_limit_burst=_env_int("RATE_LIMIT_BURST", 5),
            timezone=_env("TIMEZONE", "UTC"),
            allow_private_webhooks=_env_bool("ALLOW_PRIVATE_WEBHOOKS", False),
            run_webhook_worker=_env_bool("WEBHOOK_WORKER", True),
            log_level=_env("LOG_LEVEL", "info"),
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
