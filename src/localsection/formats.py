"""The value formats of the protocol, one parser each: digits and ids, dates, decimals, priorities, truth.

Every front end (API parameters, filters, web forms, CLI options) parses values here, so one value means
the same thing wherever it is typed. Parsers raise the protocol's errors (errors.py) naming the field.

Strict inputs (the emulator's realistic mode, docs/control-api.md): inside `strict_inputs()` the parsers refuse
what the real service refuses instead of reading it leniently (ISO dates, priority words, out-of-range
priorities). Normal mode is unchanged.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from decimal import Decimal, InvalidOperation

from localsection import errors

TRUE_WORDS = frozenset({"1", "true", "yes", "on"})
FALSE_WORDS = frozenset({"0", "false", "no", "off"})
PRIORITY_WORDS = {"low": 1, "normal": 5, "medium": 5, "high": 10}
MAX_ID_DIGITS = 18  # fits a signed 64-bit column
_DATE_DMY = re.compile(r"^(\d{1,2})\.(\d{1,2})\.(\d{4})$")
_DATE_ISO = re.compile(r"^(\d{4})-(\d{1,2})-(\d{1,2})$")
_DECIMAL_LIMIT = Decimal("1e12")
_STRICT: ContextVar[bool] = ContextVar("localsection_strict_inputs", default=False)


@contextmanager
def strict_inputs() -> Iterator[None]:
    """Within the block, parse values as strictly as the real service does (realistic mode)."""
    token = _STRICT.set(True)
    try:
        yield
    finally:
        _STRICT.reset(token)


def strict() -> bool:
    """Whether inputs are being parsed strictly (realistic mode)."""
    return _STRICT.get()


def is_digits(value: str) -> bool:
    """Only ASCII digits: str.isdigit() also accepts `²` or `١`, which int() refuses or reads as another number."""
    return value.isascii() and value.isdigit()


def is_id(value: str) -> bool:
    """A positive database id as clients write it: ASCII digits that fit a 64-bit column."""
    return is_digits(value) and len(value) <= MAX_ID_DIGITS


def parse_id(value: str, invalid: errors.ApiError) -> int:
    """`value` as an id (surrounding spaces allowed); anything else raises `invalid`."""
    value = value.strip()
    if not is_id(value):
        raise invalid
    return int(value)


def truthy(value: object) -> bool:
    """Whether a flag is on: 1/true/yes/on in any case (JSON true arrives as "1"); anything else is off."""
    return str(value).strip().lower() in TRUE_WORDS


def parse_flag(value: str) -> bool | None:
    """A strict flag: True for 1/true/yes/on, False for 0/false/no/off (any case), None for anything else."""
    word = value.strip().lower()
    return True if word in TRUE_WORDS else False if word in FALSE_WORDS else None


def parse_date(value: str, name: str) -> dt.date:
    """DD.MM.YYYY or YYYY-MM-DD; anything else (or a day that does not exist) is 11 Invalid date.

    Strict: DD.MM.YYYY only, the protocol's format."""
    value = value.strip()
    try:
        m = _DATE_DMY.match(value)
        if m:
            return dt.date(int(m.group(3)), int(m.group(2)), int(m.group(1)))
        m = None if _STRICT.get() else _DATE_ISO.match(value)
        if m:
            return dt.date(int(m.group(1)), int(m.group(2)), int(m.group(3)))
    except ValueError:
        pass
    raise errors.invalid_date(name)


def parse_decimal(value: str, name: str) -> Decimal:
    """A finite number below 10^12 in magnitude; `,` is accepted as the decimal point."""
    text = value.strip().replace(",", ".")
    try:
        d = Decimal(text)
    except InvalidOperation:
        raise errors.invalid_value("Invalid number", name) from None
    if not d.is_finite() or abs(d) >= _DECIMAL_LIMIT:
        raise errors.invalid_value("Invalid number", name)
    return d


def parse_priority(value: str) -> int:
    """0..10, or the words low/normal/medium/high; out of range is clamped.

    Strict: a whole number from 0 to 10 only; words and anything out of range are 11 Invalid priority."""
    v = value.strip().lower()
    if _STRICT.get():
        if not is_digits(v) or int(v) > 10:
            raise errors.invalid_value("Invalid priority", "priority")
        return int(v)
    if v in PRIORITY_WORDS:
        return PRIORITY_WORDS[v]
    try:
        n = int(Decimal(v))
    except (InvalidOperation, ValueError):
        raise errors.invalid_value("Invalid priority", "priority") from None
    return max(0, min(10, n))
