"""The access log: one line per request on the `localsection.access` logger, and the logging set-up of `serve`.

Standard library logging rather than structlog: uvicorn logs through it already, so one dictConfig (`log_config`)
gives every line of the process — uvicorn's, ours, the access lines — the same format, text or JSON, with no
second logging system to bridge. A line is built from the request record only when the logger is enabled, by
the handler's formatter; `emit` skips the caller lookup of Logger.info (a stack walk).

Access lines go to stdout (as uvicorn's own did), everything else to stderr. Parameters are never logged: they
may hold personal data and secrets; the emulator's journal shows them redacted.
"""

from __future__ import annotations

import logging
import time
import traceback
from typing import Any

import orjson

from localsection.config import Settings
from localsection.observe.record import RequestRecord

ACCESS_LOGGER = "localsection.access"
log = logging.getLogger(ACCESS_LOGGER)

_LEVELS = {"critical": "CRITICAL", "error": "ERROR", "warning": "WARNING", "info": "INFO", "debug": "DEBUG",
           "trace": "DEBUG"}


class _Clock:
    """ISO 8601 UTC timestamps with milliseconds; the part up to the second is formatted once per second."""

    def __init__(self) -> None:
        self._second = -1
        self._prefix = ""

    def iso(self, created: float) -> str:
        second = int(created)
        if second != self._second:
            self._second, self._prefix = second, time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(second))
        return f"{self._prefix}.{int((created - second) * 1000):03d}Z"


def access_fields(rec: RequestRecord) -> dict[str, Any]:
    """The fields of an access line (no parameters, no headers)."""
    return {"method": rec.method, "path": rec.path, "status": rec.http_status, "outcome": rec.outcome,
            "action": rec.action, "account": rec.account, "scheme": rec.scheme, "caller": rec.caller,
            "code": rec.code, "duration_ms": round(rec.duration * 1000, 2)}


def _quoted(value: str) -> str:
    """A JSON string: no value can end the line or the field it is in."""
    return orjson.dumps(value).decode()


def logfmt(rec: RequestRecord) -> str:
    """`method=POST path="/api/admin/v2" status=200 outcome=ok action=post_task account=acme ...`.

    Bare values are ours (method checked by the HTTP parser, action and scheme names, account names, which are
    validated words, codes from the error tables); the path and the caller are quoted."""
    return (f"method={rec.method} path={_quoted(rec.path)} status={rec.http_status} outcome={rec.outcome} "
            f"action={rec.action or '-'} account={rec.account or '-'} scheme={rec.scheme} "
            f"caller={_quoted(rec.caller) if rec.caller else '-'} code={'-' if rec.code is None else rec.code} "
            f"duration_ms={rec.duration * 1000:.2f}")


class TextFormatter(logging.Formatter):
    """`<time> <LEVEL> <logger>: <message>`; access lines: `<time> access <logfmt fields>`."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__()
        self._clock = _Clock()

    def format(self, record: logging.LogRecord) -> str:
        stamp = self._clock.iso(record.created)
        if isinstance(record.msg, RequestRecord):
            return f"{stamp} access {logfmt(record.msg)}"
        line = f"{stamp} {record.levelname} {record.name}: {record.getMessage()}"
        if record.exc_info:
            line += "\n" + self.formatException(record.exc_info)
        return line


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message (+ exception), and the access fields."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__()
        self._clock = _Clock()

    def format(self, record: logging.LogRecord) -> str:
        out: dict[str, Any] = {"time": self._clock.iso(record.created), "level": record.levelname.lower(),
                               "logger": record.name}
        if isinstance(record.msg, RequestRecord):
            rec = record.msg
            out["message"] = f"{rec.method} {rec.path} {rec.http_status}"
            out.update(access_fields(rec))
        else:
            out["message"] = record.getMessage()
            if record.exc_info:
                out["exception"] = "".join(traceback.format_exception(*record.exc_info))
        return orjson.dumps(out, default=str).decode()


def emit(rec: RequestRecord) -> None:
    """Write the access line of `rec` when the access logger is enabled (the formatter builds the text)."""
    if log.isEnabledFor(logging.INFO):
        log.handle(logging.LogRecord(ACCESS_LOGGER, logging.INFO, __file__, 0, rec, None, None))


def log_config(settings: Settings) -> dict[str, Any]:
    """The logging dictConfig `serve` hands to uvicorn (also in its worker processes): one format for every line,
    the access lines on stdout, the rest on stderr, uvicorn's own access log off (one line per request: ours)."""
    formatter = f"{__name__}.{'JsonFormatter' if settings.log_format == 'json' else 'TextFormatter'}"
    level = _LEVELS[settings.log_level]
    return {
        "version": 1,
        "disable_existing_loggers": False,
        # uvicorn may set `use_colors` on the formatters named default and access: ours accept and ignore it.
        "formatters": {"default": {"()": formatter}, "access": {"()": formatter}},
        "handlers": {
            "default": {"class": "logging.StreamHandler", "formatter": "default", "stream": "ext://sys.stderr"},
            "access": {"class": "logging.StreamHandler", "formatter": "access", "stream": "ext://sys.stdout"},
        },
        "loggers": {
            "uvicorn": {"handlers": ["default"], "level": "INFO", "propagate": False},
            "uvicorn.error": {"level": level},
            "uvicorn.access": {"handlers": [], "level": "CRITICAL", "propagate": False},
            "localsection": {"handlers": ["default"], "level": level, "propagate": False},
            ACCESS_LOGGER: {"handlers": ["access"] if settings.access_log else [],
                            "level": level if settings.access_log else "CRITICAL", "propagate": False},
        },
    }
