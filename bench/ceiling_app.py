"""The ceiling: a bare ASGI app that answers every request with a fixed JSON body.

Served by the same uvicorn settings as `localsection serve`, it shows what Python, uvicorn and this machine can
do at best; bench_http.py reports every scenario as a fraction of it.

Run: python bench/ceiling_app.py --port 8999
"""

from __future__ import annotations

import argparse

import orjson

# Shaped and sized like a get_task answer, with the API's headers, so only our own work differs.
BODY = orjson.dumps({"status": "ok", "data": {
    "id": "1", "name": "Bulk task 1 alpha", "page": "/project/1/1/", "status": "active", "priority": "1",
    "user_from": {"id": "1", "email": "owner@localsection.local", "name": "Owner"},
    "user_to": {"id": "1", "email": "NOONE", "name": "Nobody"},
    "project": {"id": "1", "name": "Bulk project 1", "page": "/project/1/"},
    "date_added": "2026-01-01 10:00", "date_start": "2026-01-01", "date_end": "2026-01-02"}})
HEADERS = [
    (b"content-type", b"application/json; charset=utf-8"),
    (b"content-length", str(len(BODY)).encode()),
    (b"cache-control", b"no-store, no-cache, must-revalidate"),
    (b"pragma", b"no-cache"),
    (b"expires", b"Thu, 19 Nov 1981 08:52:00 GMT"),
    (b"x-frame-options", b"SAMEORIGIN"),
    (b"access-control-allow-origin", b"*"),
]


async def app(scope: dict, receive, send) -> None:  # type: ignore[no-untyped-def,type-arg]
    """Drain the request body, then send the fixed answer."""
    if scope["type"] != "http":
        return
    more = True
    while more:
        message = await receive()
        more = message.get("more_body", False)
    await send({"type": "http.response.start", "status": 200, "headers": HEADERS})
    await send({"type": "http.response.body", "body": BODY})


def main() -> None:
    import uvicorn

    parser = argparse.ArgumentParser()
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    args = parser.parse_args()
    from localsection.cli import uvicorn_options

    # The same settings `localsection serve` runs with.
    uvicorn.run(app, host=args.host, port=args.port, workers=1, log_level="warning", **uvicorn_options())


if __name__ == "__main__":
    main()
