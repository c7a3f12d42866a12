"""Large `data` lists sent piece by piece, so memory does not grow with the number of items (issue 7)."""

from __future__ import annotations

import logging
from collections.abc import Iterable, Iterator
from typing import Any

import orjson
from starlette.responses import StreamingResponse

from localsection.api.endpoint import API_HEADERS, JSON_TYPE

log = logging.getLogger("localsection.api")

_HEAD = b'{"status":"ok","data":['
_TAIL = b"]}"


def ok_data_stream(pieces: Iterable[list[Any]]) -> StreamingResponse:
    """`{"status":"ok","data":[...]}` (the bytes orjson gives the whole body), the items of each piece encoded
    as soon as the piece is ready. `pieces` is a sync iterable: Starlette pulls it in its thread pool."""
    return StreamingResponse(_encode(pieces), media_type=JSON_TYPE, headers=API_HEADERS)


def _encode(pieces: Iterable[list[Any]]) -> Iterator[bytes]:
    yield _HEAD
    first = True
    try:
        for items in pieces:
            if not items:
                continue
            body = orjson.dumps(items)[1:-1]  # the items without the list's brackets
            yield body if first else b"," + body
            first = False
    except Exception:
        # The status line is already out: nothing but a cut-off body can tell the client (it fails to parse).
        log.exception("streamed list failed")
        raise
    yield _TAIL
