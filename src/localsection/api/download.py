"""`GET /download/{id}/`: the browser-link form of file pages, served exactly like the `download` action."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.types import Receive, Scope, Send

from localsection.api.endpoint import ApiEndpoint, json_response, read_params
from localsection.state import AppState


class DownloadRoute:
    """Same credentials as the API: a bearer token / access_token goes the user path, else the admin key."""

    def __init__(self, state: AppState) -> None:
        self.admin = ApiEndpoint(state, "admin")
        self.user = ApiEndpoint(state, "user")

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        request = Request(scope, receive)
        response = await self.handle(request)
        await response(scope, receive, send)

    async def handle(self, request: Request) -> Response:
        if request.method not in ("GET", "POST"):
            return json_response({"status": "error", "message": "Method not allowed"}, 405, {"Allow": "GET, POST"})
        raw_query = request.scope.get("query_string", b"").decode("latin-1")
        params = await read_params(request, raw_query)
        # The path decides the action and the file, whatever the query says.
        params.query_pairs = [(k, v) for k, v in params.query_pairs if k not in ("action", "id_file")]
        params.values["action"] = "download"
        params.values["id_file"] = str(request.path_params["id_file"])
        bearer = request.headers.get("authorization", "").lower().startswith("bearer ")
        endpoint = self.user if bearer or params.has("access_token") else self.admin
        try:
            return await endpoint._dispatch(request, params)
        finally:
            for part in params.files:
                part.file.close()
