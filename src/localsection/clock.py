"""The server's clock: one place to read 'now', settable in tests and through the emulator's control API.

The clock is real time plus an offset, or, while frozen, a fixed instant that only `shift`/`set_unix` move.
It is process-wide. `real_unix()` is the machine's time, for checks that must not follow a moved clock (the
`Authorization: Admin` header's window: the client signs with its real time).
"""

from __future__ import annotations

import datetime as dt
import math
import os
import time


def _initial_offset() -> float:
    """LOCALSECTION_CLOCK_OFFSET (tests only). A malformed value counts as 0 here: Settings.from_env() validates
    the same variable and every command stops on it with a one-line error before the clock matters."""
    try:
        return float(os.environ.get("LOCALSECTION_CLOCK_OFFSET", "0") or 0)
    except ValueError:
        return 0.0


_offset_seconds: float = _initial_offset()
_frozen_at: float | None = None  # the unix time the clock stands at while frozen


def unix() -> float:
    return _frozen_at if _frozen_at is not None else time.time() + _offset_seconds


_last_now: tuple[int, dt.datetime] = (0, dt.datetime(1970, 1, 1))


def now() -> dt.datetime:
    """Naive UTC now, to the second (all stored timestamps are naive UTC).

    Built once per second: a busy server asks several times per request, and building the datetime cost more
    than an indexed read (docs/performance.md)."""
    global _last_now
    second = math.floor(unix())
    last = _last_now
    if last[0] != second:
        last = _last_now = (second, dt.datetime.fromtimestamp(second, dt.UTC).replace(tzinfo=None))
    return last[1]


def real_unix() -> float:
    """The machine's time, whatever the server clock says."""
    return time.time()


def offset() -> float:
    """Seconds the server clock is ahead of real time (now, for a frozen clock)."""
    return unix() - time.time()


def frozen() -> bool:
    return _frozen_at is not None


def shift(seconds: float) -> None:
    """Move the clock by `seconds` (a frozen clock stays frozen, at the new instant)."""
    global _offset_seconds, _frozen_at
    if _frozen_at is not None:
        _frozen_at += seconds
    else:
        _offset_seconds += seconds


def set_unix(at: float) -> None:
    """Set the clock to the unix time `at` (it keeps running from there unless frozen)."""
    shift(at - unix())


def freeze(on: bool) -> None:
    """Stop the clock where it stands (on) or let it run again from where it stands (off)."""
    global _offset_seconds, _frozen_at
    if on and _frozen_at is None:
        _frozen_at = unix()
    elif not on and _frozen_at is not None:
        _offset_seconds = _frozen_at - time.time()
        _frozen_at = None


def reset() -> None:
    global _offset_seconds, _frozen_at
    _offset_seconds = 0.0
    _frozen_at = None
