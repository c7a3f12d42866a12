"""The `/oauth2/*` routes (and, only when LOCALSECTION_UNSAFE_TEST_CLOCK is on, the test clock)."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from localsection import clock
from localsection.oauth2.authorize import AuthorizePages
from localsection.oauth2.endpoints import ResourceEndpoint, TokenEndpoint
from localsection.state import AppState
from localsection.web.throttle import LoginThrottle

# Every method reaches the handlers, which refuse the unsupported ones themselves: the app-wide 405 answer
# carries the API's CORS header, which /oauth2/* must not.
_METHODS = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]



def oauth_routes(state: AppState, login_throttle: LoginThrottle | None = None) -> list[BaseRoute]:
    """Routes to add to the app; both the bare and the trailing-slash paths are served (never redirected).
    `login_throttle`: the app's one sign-in throttle, shared with the web app's sign-in (create_app)."""
    flow = AuthorizePages(state, login_throttle)
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
