"""The server's clock: one place to read 'now', settable in tests."""

from __future__ import annotations

import datetime as dt
import os
import time

_offset_seconds: float = float(os.environ.get("LOCALSECTION_CLOCK_OFFSET", "0") or 0)


def now() -> dt.datetime:
    """Naive UTC now, to the second (all stored timestamps are naive UTC)."""
    return dt.datetime.fromtimestamp(time.time() + _offset_seconds, dt.UTC).replace(tzinfo=None, microsecond=0)


def unix() -> float:
    return time.time() + _offset_seconds


def shift(seconds: float) -> None:
    """Move the clock (tests only)."""
    global _offset_seconds
    _offset_seconds += seconds


def reset() -> None:
    global _offset_seconds
    _offset_seconds = 0.0
