"""Settings read from LOCALSECTION_* environment variables, typed and validated (pydantic-settings).

`Settings(...)` with keyword arguments reads nothing from the environment (tests, benchmarks);
`Settings.from_env()` reads LOCALSECTION_* and turns a bad value into a `ConfigError` whose message is one
line naming the variable, the value, what was expected and how to fix it. The model is frozen and its fields
are plain instance attributes, so reading one on the hot path costs what a dataclass field did.
"""

from __future__ import annotations

import email.utils
import ipaddress
import re
import urllib.parse
import zoneinfo
from pathlib import Path
from typing import Annotated, Any, Literal, get_args

import annotated_types
from pydantic import Field, ValidationError, field_validator, model_validator
from pydantic.fields import FieldInfo
from pydantic_core import PydanticCustomError
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict

ENV_PREFIX = "LOCALSECTION_"

Durability = Literal["full", "normal"]
LogLevel = Literal["critical", "error", "warning", "info", "debug", "trace"]
LogFormat = Literal["text", "json"]
MetricsMode = Literal["off", "on", "token"]

# Field constraints, named for what they mean.
_Port = Annotated[int, Field(ge=0, le=65535)]
_Bytes = Annotated[int, Field(ge=1)]
_Count = Annotated[int, Field(ge=1)]
_Seconds = Annotated[float, Field(gt=0)]


class ConfigError(Exception):
    """A setting, or what it points at, is unusable. The CLI prints the message as one line and exits 2."""


def _env_alias(suffix: str) -> Any:
    """A field whose variable is not LOCALSECTION_<FIELD NAME> (kept from before the field was renamed)."""
    return Field(validation_alias=ENV_PREFIX + suffix)


class Settings(BaseSettings):
    """Everything configurable; build with `Settings.from_env()` or directly in tests."""

    model_config = SettingsConfigDict(env_prefix=ENV_PREFIX, frozen=True, extra="forbid", env_ignore_empty=True,
                                      populate_by_name=True, case_sensitive=False)

    data_dir: Path = Path("data")
    database_url: str = ""
    durability: Durability = "full"  # SQLite synchronous FULL / NORMAL
    host: Annotated[str, Field(min_length=1)] = "127.0.0.1"
    port: _Port = 8000
    domain: Annotated[str, Field(min_length=1)] = "localhost"  # accounts are served at <account>.<domain>
    public_url: str = ""  # e.g. https://{account}.tracker.example.com; empty = from the request
    default_account: str = ""  # empty = the account created first
    admin_token_window: _Count = 300  # seconds of clock skew accepted for "Authorization: Admin"
    max_body_bytes: _Bytes = 110 * 1024 * 1024
    max_url_bytes: _Bytes = 16 * 1024
    max_file_bytes: _Bytes = 100 * 1024 * 1024
    max_params_bytes: _Bytes = 2 * 1024 * 1024  # body of an API request that carries no file upload
    max_oauth_body_bytes: _Bytes = 64 * 1024  # body of /oauth2/token, /oauth2/refresh, /oauth2/resource, login
    legacy_md5: bool = True  # accept the old md5(page + action + key) signature (signs no parameters)
    trusted_proxies: str = ""  # comma list of proxy addresses/CIDRs whose X-Forwarded-For is believed
    max_header_bytes: _Bytes = 64 * 1024  # request line + headers of one request
    max_headers: _Count = 100  # header lines of one request
    header_timeout: _Seconds = 10.0  # seconds to receive a request's headers
    keep_alive_timeout: _Seconds = 5.0  # seconds an idle keep-alive connection stays open
    record_cap: Annotated[int, Field(ge=0)] = 0  # 0 = no cap; 10000 reproduces the real service
    rate_limit_per_second: Annotated[float, Field(ge=0), _env_alias("RATE_LIMIT")] = 0.0  # 0 = off
    rate_limit_burst: _Count = 5
    timezone: str = "UTC"
    allow_private_webhooks: bool = False
    run_webhook_worker: Annotated[bool, _env_alias("WEBHOOK_WORKER")] = True
    webhook_timeout: _Seconds = 5.0  # seconds per probe / delivery attempt
    webhook_retry_base: _Seconds = 2.0  # backoff after the n-th failure: base * 2**(n-1), capped at retry_max
    webhook_retry_max: _Seconds = 300.0
    webhook_pause_after: _Count = 10  # consecutive failed attempts that pause a webhook
    webhook_retention_days: Annotated[int, Field(ge=0)] = 30  # pending events of a paused webhook are kept this long
    webhook_poll_interval: _Seconds = 0.5
    webhook_lease_seconds: _Seconds = 120.0  # a claimed outbox row is another worker's again after this
    webhook_concurrency: _Count = 8  # webhooks delivered in parallel by one worker
    webhook_batch_max: _Count = 100  # events sent in one POST when a webhook has a backlog
    smtp_url: str = ""  # smtp://user:pass@host:587?starttls=1 or smtps://…; empty = mail stays queued
    mail_from: str = ""  # From of every e-mail; empty = localsection <noreply@DOMAIN>
    mail_timeout: _Seconds = 10.0  # seconds per SMTP operation (connect, each command)
    mail_max_attempts: _Count = 8  # attempts before an e-mail is given up (state failed)
    mail_retry_base: _Seconds = 30.0  # backoff after the n-th failure: base * 2**(n-1), capped at retry_max
    mail_retry_max: _Seconds = 3600.0
    mail_retention_days: _Count = 7  # unsent e-mails expire, finished rows are dropped, after this many days
    mail_poll_interval: _Seconds = 2.0  # seconds the sender waits before looking for due e-mails again
    log_level: LogLevel = "info"
    oauth_private_key_file: str = ""  # PEM RSA key for access tokens; empty = generated in data_dir
    emulator: bool = False  # the control API at /_localsection (accounts, reset, clock): local use only
    realistic: bool = False  # every account like the real service: 1 request/s, 10,000-record cap, strict inputs
    unsafe_test_clock: bool = False  # tests only: POST /__test__/clock moves the server clock
    clock_offset: float = 0.0  # tests only: seconds added to the server clock from the start (read by clock.py)
    db_wait_seconds: Annotated[float, Field(ge=0)] = 30.0  # how long serve / db upgrade wait for PostgreSQL
    log_format: LogFormat = "text"  # every log line of serve / worker: text, or one JSON object per line
    access_log: bool = True  # one line per request on stdout (logger localsection.access)
    metrics: MetricsMode = "off"  # /metrics: off, on (loopback and trusted proxies only), token (bearer)
    metrics_token: str = ""  # the bearer token of /metrics when metrics=token (16 characters or more)
    journal_size: _Count = 1000  # requests the emulator's journal keeps (GET /_localsection/requests)
    redis_url: str = ""  # redis://[:password@]host:6379/0, rediss://… or unix:///path; empty = per-process counters
    redis_prefix: str = "localsection:"  # namespace of every key the shared store writes
    extra: dict[str, str] = Field(default_factory=dict)

    @classmethod
    def settings_customise_sources(cls, settings_cls: type[BaseSettings], init_settings: PydanticBaseSettingsSource,
                                   env_settings: PydanticBaseSettingsSource,
                                   dotenv_settings: PydanticBaseSettingsSource,
                                   file_secret_settings: PydanticBaseSettingsSource,
                                   ) -> tuple[PydanticBaseSettingsSource, ...]:
        # Built directly, a Settings is exactly its arguments: the environment is read by from_env() only.
        return (init_settings,)

    @field_validator("durability", "log_level", "domain", "log_format", mode="before")
    @classmethod
    def _lower(cls, value: object) -> object:
        return value.strip().lower() if isinstance(value, str) else value

    @field_validator("metrics", mode="before")
    @classmethod
    def _metrics_mode(cls, value: object) -> object:
        if not isinstance(value, str):
            return value
        value = value.strip().lower()
        return {"1": "on", "true": "on", "yes": "on", "0": "off", "false": "off", "no": "off"}.get(value, value)

    @model_validator(mode="after")
    def _check_metrics_token(self) -> Settings:
        if self.metrics == "token" and len(self.metrics_token.strip()) < 16:
            raise PydanticCustomError(
                "metrics_token", "LOCALSECTION_METRICS=token needs LOCALSECTION_METRICS_TOKEN, a random string of at "
                "least 16 characters (e.g. from `openssl rand -hex 32`); set it, or use LOCALSECTION_METRICS=on or off")
        return self

    @field_validator("database_url")
    @classmethod
    def _check_database_url(cls, value: str) -> str:
        if not value:
            return value
        match = re.match(r"^([a-z][a-z0-9+.-]*)://", value)
        scheme = match.group(1).split("+", 1)[0] if match else ""
        if scheme not in ("sqlite", "postgresql", "postgres"):
            raise ValueError("a URL like postgresql://user@host:5432/dbname or sqlite:////abs/path/file.db")
        if scheme != "sqlite":
            parts = urllib.parse.urlsplit(value)
            try:
                parts.port  # noqa: B018 - raises on a malformed port
            except ValueError:
                raise ValueError("a URL like postgresql://user@host:5432/dbname (the port is not a number)") from None
            if not parts.hostname or not parts.path.strip("/"):
                raise ValueError("a URL like postgresql://user@host:5432/dbname (host and database name)")
        return value

    @field_validator("public_url")
    @classmethod
    def _check_public_url(cls, value: str) -> str:
        parts = urllib.parse.urlsplit(value.replace("{account}", "account"))
        if value and (parts.scheme not in ("http", "https") or not parts.hostname):
            raise ValueError("an http(s) URL such as https://{account}.tracker.example.com")
        return value

    @field_validator("smtp_url")
    @classmethod
    def _check_smtp_url(cls, value: str) -> str:
        if not value:
            return value
        parts = urllib.parse.urlsplit(value.strip())
        try:
            parts.port  # noqa: B018 - raises on a malformed port
        except ValueError:
            raise ValueError("a URL like smtp://user:password@host:587?starttls=1 (the port is not a number)"
                             ) from None
        if parts.scheme not in ("smtp", "smtps") or not parts.hostname:
            raise ValueError("a URL like smtp://user:password@host:587?starttls=1 or smtps://user:password@host:465")
        return value.strip()

    @field_validator("redis_url")
    @classmethod
    def _check_redis_url(cls, value: str) -> str:
        value = value.strip()
        if not value:
            return value
        parts = urllib.parse.urlsplit(value)
        want = "a URL like redis://host:6379/0, redis://:password@host:6379/0, rediss://host:6380/0 or unix:///path"
        try:
            parts.port  # noqa: B018 - raises on a malformed port
        except ValueError:
            raise ValueError(want + " (the port is not a number)") from None
        if parts.scheme in ("redis", "rediss"):
            if not parts.hostname or not re.fullmatch(r"/?\d*", parts.path):
                raise ValueError(want + " (a host, and a database number as the path)")
        elif parts.scheme != "unix" or not parts.path.startswith("/"):
            raise ValueError(want)
        return value

    @field_validator("redis_prefix")
    @classmethod
    def _check_redis_prefix(cls, value: str) -> str:
        if not re.fullmatch(r"[A-Za-z0-9_.:-]{1,64}", value):
            raise ValueError("1 to 64 letters, digits and _ . : - such as localsection: or tracker-eu:")
        return value

    @field_validator("mail_from")
    @classmethod
    def _check_mail_from(cls, value: str) -> str:
        if value and "@" not in email.utils.parseaddr(value)[1]:
            raise ValueError("an address such as tracker@example.com or 'Tracker <tracker@example.com>'")
        return value.strip()

    @field_validator("timezone")
    @classmethod
    def _check_timezone(cls, value: str) -> str:
        try:
            zoneinfo.ZoneInfo(value)
        except (zoneinfo.ZoneInfoNotFoundError, ValueError):
            raise ValueError("an IANA time zone name such as UTC or Europe/Berlin") from None
        return value

    @field_validator("trusted_proxies")
    @classmethod
    def _check_trusted_proxies(cls, value: str) -> str:
        for item in (p.strip() for p in value.split(",")):
            if not item:
                continue
            try:
                ipaddress.ip_network(item, strict=False)
            except ValueError:
                raise ValueError("a comma-separated list of IP addresses or CIDRs, e.g. 10.0.0.1,172.16.0.0/12"
                                 ) from None
        return value

    @classmethod
    def from_env(cls) -> Settings:
        """The LOCALSECTION_* environment; raises ConfigError (one line) when a value is invalid."""
        try:
            loaded = _FromEnv()
        except ValidationError as exc:
            raise ConfigError(describe(exc)) from None
        return cls.model_construct(**{name: getattr(loaded, name) for name in cls.model_fields})

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
        """A copy with some fields changed (validated like the constructor's arguments)."""
        return Settings(**{**{name: getattr(self, name) for name in Settings.model_fields}, **changes})


class _FromEnv(Settings):
    """Settings that also read the environment (used by Settings.from_env only)."""

    @classmethod
    def settings_customise_sources(cls, settings_cls: type[BaseSettings], init_settings: PydanticBaseSettingsSource,
                                   env_settings: PydanticBaseSettingsSource,
                                   dotenv_settings: PydanticBaseSettingsSource,
                                   file_secret_settings: PydanticBaseSettingsSource,
                                   ) -> tuple[PydanticBaseSettingsSource, ...]:
        return (init_settings, env_settings)


def env_name(field: str) -> str:
    """The environment variable of a Settings field, e.g. rate_limit_per_second -> LOCALSECTION_RATE_LIMIT."""
    info = Settings.model_fields[field]
    alias = info.validation_alias
    return alias if isinstance(alias, str) else ENV_PREFIX + field.upper()


def _field_of(loc: object) -> str | None:
    for name in Settings.model_fields:
        if loc == name or (isinstance(loc, str) and loc.upper() == env_name(name)):
            return name
    return None


def _bounds(info: FieldInfo) -> str:
    low: object = None
    high: object = None
    strict = False
    for meta in info.metadata:
        if isinstance(meta, annotated_types.Ge):
            low = meta.ge
        elif isinstance(meta, annotated_types.Gt):
            low, strict = meta.gt, True
        elif isinstance(meta, annotated_types.Le):
            high = meta.le
    if low is not None and high is not None:
        return f"from {low} to {high}"
    if low is not None:
        return f"above {low}" if strict else f"of at least {low}"
    return ""


def expected(field: str) -> str:
    """What a field accepts, in words."""
    info = Settings.model_fields[field]
    annotation = info.annotation
    bounds = _bounds(info)
    if annotation is bool:
        return "1/0, true/false, yes/no or on/off"
    if annotation is int:
        return "a whole number" + (f" {bounds}" if bounds else "")
    if annotation is float:
        return "a number" + (f" {bounds}" if bounds else "")
    choices = get_args(annotation)
    if choices and all(isinstance(c, str) for c in choices):
        return "one of " + ", ".join(choices)
    return "a non-empty value" if info.metadata else "a valid value"


def redact(value: str) -> str:
    """A URL with its password replaced by ***, so errors never print a secret."""
    return re.sub(r"(://[^:/@\s]*:)[^@/\s]*@", r"\1***@", value)


def describe(exc: ValidationError) -> str:
    """One line for all the invalid settings of a ValidationError."""
    lines: list[str] = []
    for error in exc.errors():
        field = _field_of(error["loc"][0]) if error["loc"] else None
        if field is None:
            lines.append(error["msg"])
            continue
        want = expected(field)
        if error["type"] == "value_error":
            want = str(error.get("ctx", {}).get("error", error["msg"]))
        shown = redact(str(error.get("input", "")))
        lines.append(f"{env_name(field)}={shown!r} is invalid: expected {want}; "
                     f"fix it, or unset it to use the default ({_show_default(field)})")
    return "; ".join(lines)


def _show_default(field: str) -> str:
    value = Settings.model_fields[field].get_default(call_default_factory=True)
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value) if value not in ("", None) else "empty"
