from __future__ import annotations

import threading
from pathlib import Path

import pytest

from localsection import tokens
from localsection.app import create_app
from localsection.config import Settings


def test_processes_racing_to_create_the_signing_key_end_up_with_one_key(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path)
    path = (tmp_path / "oauth_signing_key.pem").resolve()
    errors: list[BaseException] = []

    def create() -> None:
        try:
            tokens._publish_new_key(path)
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=create) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert [p.name for p in tmp_path.iterdir()] == ["oauth_signing_key.pem"]
    assert path.stat().st_mode & 0o777 == 0o600
    assert tokens.signing_key(settings).key_size == 2048


def test_a_configured_key_file_that_is_missing_stops_the_app_at_start(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path, oauth_private_key_file=str(tmp_path / "missing.pem"))
    with pytest.raises(FileNotFoundError):
        create_app(settings)
