"""`GET /download/{id}/`: the browser-link form of file pages, served exactly like the `download` action."""

from __future__ import annotations

from starlette.responses import Response
from starlette.types import Receive, Scope, Send

from localsection import errors
from localsection.api.endpoint import (
    ApiEndpoint,
    ConnectionDropped,
    Incoming,
    drop_connection,
    json_response,
    read_params,
    refusal,
)
from localsection.observe.record import current as observed
from localsection.state import AppState


class DownloadRoute:
    """Same credentials as the API: a bearer token / access_token goes the user path, else the admin key."""

    def __init__(self, state: AppState) -> None:
        self.admin = ApiEndpoint(state, "admin")
        self.user = ApiEndpoint(state, "user")

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        try:
            response = await self.handle(Incoming.of(scope, receive))
        except ConnectionDropped:  # a `drop` fault (api/emulation.py)
            await drop_connection(scope)
            return
        await response(scope, receive, send)

    async def handle(self, request: Incoming) -> Response:
        if request.method not in ("GET", "POST"):
            return json_response({"status": "error", "message": "Method not allowed"}, 405, {"Allow": "GET, POST"})
        params = await read_params(request, request.raw_query)
        id_file = str(request.scope["path_params"]["id_file"])
        # The path names the action and the file. A signature made for another action or another file must not
        # serve this one (PROTOCOL.md §2.1): every action and id_file the request carries must agree with the path,
        # and an md5 signature must cover the id_file (params.must_sign).
        given = [params.query_value("action"), params.body_value("action")]
        files = [params.query_value("id_file"), params.body_value("id_file")]
        if any(a not in (None, "download") for a in given) or any(f not in (None, id_file) for f in files):
            return refusal(observed(), errors.hash_invalid())
        params.values["action"] = "download"
        params.values["id_file"] = id_file
        params.must_sign = ("id_file",)
        bearer = request.headers.get("authorization", "").lower().startswith("bearer ")
        endpoint = self.user if bearer or params.has("access_token") else self.admin
        try:
            return await endpoint.dispatch(request, params)
        finally:
            for part in params.files:
                part.file.close()
