"""The `/oauth2/*` routes (and, only when LOCALSECTION_UNSAFE_TEST_CLOCK is on, the test clock)."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from localsection import clock
from localsection.oauth2.authorize import AuthorizePages
from localsection.oauth2.endpoints import ResourceEndpoint, TokenEndpoint
from localsection.state import AppState

# Every method reaches the handlers, which refuse the unsupported ones themselves: the app-wide 405 answer
# carries the API's CORS header, which /oauth2/* must not.
_METHODS = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]



def oauth_routes(state: AppState) -> list[BaseRoute]:
    """Routes to add to the app; both the bare and the trailing-slash paths are served (never redirected)."""
    flow = AuthorizePages(state)
    token, refresh = TokenEndpoint(state, "authorization_code"), TokenEndpoint(state, "refresh_token")
    resource = ResourceEndpoint(state)
    routes: list[BaseRoute] = []
    for path, handler in (("/oauth2/authorize", flow.authorize), ("/oauth2/login", flow.login),
                          ("/oauth2/token", token.handle), ("/oauth2/refresh", refresh.handle),
                          ("/oauth2/resource", resource.handle)):
        routes += [Route(path, handler, methods=_METHODS), Route(path + "/", handler, methods=_METHODS)]
    if state.settings.unsafe_test_clock:
        routes.append(Route("/__test__/clock", _shift_clock, methods=["POST"]))
    return routes


async def _shift_clock(request: Request) -> Response:
    """Tests only (off by default): move this process's clock by `seconds` so tokens and codes can expire."""
    try:
        seconds = float(request.query_params.get("seconds", "0"))
    except ValueError:
        return JSONResponse({"status": "error", "message": "seconds must be a number"}, 400)
    clock.shift(seconds)
    return JSONResponse({"status": "ok", "unix": clock.unix()})
