"""Capture every log line the app writes, formatted as `serve` formats them (text and JSON)."""

from __future__ import annotations

import logging
from collections.abc import Iterator

import pytest

from localsection.observe.accesslog import ACCESS_LOGGER, JsonFormatter, TextFormatter


CLIENT_SIDE = ("httpx", "httpcore")


class Lines(logging.Handler):
    """A handler keeping each record formatted both ways."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.text: list[str] = []
        self.json: list[str] = []
        self._text, self._json = TextFormatter(), JsonFormatter()

    def emit(self, record: logging.LogRecord) -> None:
        if record.name.startswith(CLIENT_SIDE):
            return  # the test's own HTTP client logs the URLs it calls, secrets included: not the server's log
        self.text.append(self._text.format(record))
        self.json.append(self._json.format(record))

    def access(self) -> list[str]:
        return [line for line in self.text if line[24:32] == " access "]

    def clear(self) -> None:
        self.text.clear()
        self.json.clear()


@pytest.fixture
def log_lines() -> Iterator[Lines]:
    """Every access line and every other log record (root and localsection.*, INFO and up) while the test runs."""
    lines = Lines()
    access, root, ours = logging.getLogger(ACCESS_LOGGER), logging.getLogger(), logging.getLogger("localsection")
    saved = (access.level, access.propagate, root.level, ours.level)
    access.addHandler(lines)
    access.setLevel(logging.INFO)
    access.propagate = False
    root.addHandler(lines)
    root.setLevel(logging.INFO)
    ours.setLevel(logging.INFO)
    try:
        yield lines
    finally:
        access.removeHandler(lines)
        root.removeHandler(lines)
        access.setLevel(saved[0])
        access.propagate = saved[1]
        root.setLevel(saved[2])
        ours.setLevel(saved[3])
