"""LOCALSECTION_* settings: typed, validated, one-line errors, and every one documented in the README."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from pydantic import ValidationError

from localsection.config import ConfigError, Settings, env_name

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def env(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    """A clean LOCALSECTION_* environment to set variables in."""
    import os

    for key in list(os.environ):
        if key.startswith("LOCALSECTION_"):
            monkeypatch.delenv(key)
    return monkeypatch


def test_an_empty_environment_gives_the_documented_defaults(env: pytest.MonkeyPatch) -> None:
    s = Settings.from_env()
    assert s == Settings()
    assert (s.data_dir, s.database_url, s.durability, s.host, s.port, s.log_level) == (
        Path("data"), "", "full", "127.0.0.1", 8000, "info")
    assert (s.max_params_bytes, s.max_oauth_body_bytes, s.max_header_bytes, s.max_headers) == (
        2 * 1024 * 1024, 64 * 1024, 64 * 1024, 100)
    assert (s.legacy_md5, s.trusted_proxies, s.header_timeout, s.keep_alive_timeout, s.webhook_batch_max) == (
        True, "", 10.0, 5.0, 100)


def test_every_variable_is_read_and_typed(env: pytest.MonkeyPatch) -> None:
    values = {"DATA_DIR": "/srv/ls", "PORT": "9001", "DURABILITY": "NORMAL", "LOG_LEVEL": "Debug",
              "RATE_LIMIT": "2.5", "WEBHOOK_WORKER": "off", "LEGACY_MD5": "no", "MAX_HEADERS": "50",
              "HEADER_TIMEOUT": "2.5", "TRUSTED_PROXIES": "10.0.0.1, 172.16.0.0/12", "DOMAIN": "Tracker.Example",
              "TIMEZONE": "Europe/Berlin", "WEBHOOK_BATCH_MAX": "7", "DB_WAIT_SECONDS": "0"}
    for key, value in values.items():
        env.setenv(f"LOCALSECTION_{key}", value)
    s = Settings.from_env()
    assert (s.data_dir, s.port, s.durability, s.log_level, s.rate_limit_per_second) == (
        Path("/srv/ls"), 9001, "normal", "debug", 2.5)
    assert (s.run_webhook_worker, s.legacy_md5, s.max_headers, s.header_timeout) == (False, False, 50, 2.5)
    assert (s.trusted_proxies, s.domain, s.timezone, s.webhook_batch_max, s.db_wait_seconds) == (
        "10.0.0.1, 172.16.0.0/12", "tracker.example", "Europe/Berlin", 7, 0.0)


def test_an_empty_variable_means_the_default(env: pytest.MonkeyPatch) -> None:
    env.setenv("LOCALSECTION_PORT", "")
    env.setenv("LOCALSECTION_RATE_LIMIT", "")
    assert (Settings.from_env().port, Settings.from_env().rate_limit_per_second) == (8000, 0.0)


@pytest.mark.parametrize(("variable", "value", "says"), [
    ("PORT", "abc", "expected a whole number from 0 to 65535; fix it, or unset it to use the default (8000)"),
    ("PORT", "-1", "whole number from 0 to 65535"),
    ("DURABILITY", "fast", "expected one of full, normal"),
    ("LOG_LEVEL", "chatty", "expected one of critical, error, warning, info, debug, trace"),
    ("RATE_LIMIT", "lots", "expected a number of at least 0"),
    ("WEBHOOK_WORKER", "sometimes", "expected 1/0, true/false, yes/no or on/off"),
    ("MAX_PARAMS_BYTES", "0", "expected a whole number of at least 1"),
    ("HEADER_TIMEOUT", "0", "expected a number above 0"),
    ("TIMEZONE", "Mars/Olympus", "IANA time zone"),
    ("TRUSTED_PROXIES", "10.0.0.1,proxy.local", "comma-separated list of IP addresses or CIDRs"),
    ("PUBLIC_URL", "tracker.example.com", "an http(s) URL"),
    ("DATABASE_URL", "mysql://db/app", "postgresql://user@host:5432/dbname"),
    ("DATABASE_URL", "postgresql://db", "host and database name"),
])
def test_a_bad_value_is_one_line_naming_the_variable_value_and_what_is_expected(
        env: pytest.MonkeyPatch, variable: str, value: str, says: str) -> None:
    env.setenv(f"LOCALSECTION_{variable}", value)
    with pytest.raises(ConfigError) as caught:
        Settings.from_env()
    message = str(caught.value)
    assert message.startswith(f"LOCALSECTION_{variable}={value!r} is invalid: ")
    assert says in message
    assert "\n" not in message


def _error_of_from_env() -> str:
    with pytest.raises(ConfigError) as caught:
        Settings.from_env()
    return str(caught.value)


def test_several_bad_values_are_all_named_on_one_line(env: pytest.MonkeyPatch) -> None:
    env.setenv("LOCALSECTION_PORT", "x")
    env.setenv("LOCALSECTION_WEBHOOK_CONCURRENCY", "0")
    message = _error_of_from_env()
    assert "LOCALSECTION_PORT='x'" in message and "LOCALSECTION_WEBHOOK_CONCURRENCY='0'" in message
    assert "\n" not in message


def test_a_password_in_a_bad_database_url_is_never_repeated(env: pytest.MonkeyPatch) -> None:
    env.setenv("LOCALSECTION_DATABASE_URL", "postgresql://app:hunter2@db:port/app")
    message = _error_of_from_env()
    assert "hunter2" not in message and "app:***@db" in message


def test_settings_built_in_code_ignore_the_environment_and_validate_their_arguments(
        env: pytest.MonkeyPatch) -> None:
    env.setenv("LOCALSECTION_PORT", "9999")
    assert Settings(data_dir=Path("x")).port == 8000
    with pytest.raises(ValidationError):
        Settings(durability="fast")  # type: ignore[arg-type]
    with pytest.raises(ValidationError):
        Settings().with_(port=-5)


def test_settings_are_frozen_and_with_returns_a_changed_copy() -> None:
    s = Settings(port=1234)
    with pytest.raises(ValidationError):
        s.port = 1  # type: ignore[misc]
    changed = s.with_(record_cap=3, data_dir="elsewhere")
    assert (changed.record_cap, changed.data_dir, changed.port, s.record_cap) == (3, Path("elsewhere"), 1234, 0)


def test_effective_database_url() -> None:
    assert Settings(database_url="postgres://u@h/db").effective_database_url == "postgresql+psycopg://u@h/db"
    assert Settings(data_dir=Path("/srv/d")).effective_database_url == "sqlite:////srv/d/localsection.db"


def _readme_variables() -> set[str]:
    """The variables named in the first column of the README's configuration table."""
    rows = [line for line in (ROOT / "README.md").read_text().splitlines() if line.startswith("| `LOCALSECTION_")]
    return {name for row in rows for name in re.findall(r"`(LOCALSECTION_[A-Z0-9_]+)`", row.split("|")[1])}


def test_the_readme_documents_every_setting_the_code_reads() -> None:
    documented = _readme_variables()
    fields = {env_name(f) for f in Settings.model_fields if f != "extra"}
    read_in_src = set()
    for path in (ROOT / "src" / "localsection").rglob("*.py"):
        read_in_src |= set(re.findall(r"[\"'](LOCALSECTION_[A-Z0-9_]+)[\"']", path.read_text()))
    assert fields - documented == set()
    assert read_in_src - documented == set()
    assert documented - fields - read_in_src == set(), "the README documents a setting nothing reads"
