"""The web app's routes, appended to the app's route table (app.py). Under `/a/<account>/` they are reached
through api/paths.py (the prefix goes into root_path), so one table serves both forms of address."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import BaseRoute, Route

from localsection.state import AppState
from localsection.webapp import (
    auth,
    board,
    live,
    people,
    profile,
    projects,
    reports,
    settings,
    taskpage,
    tasks,
    templating,
)
from localsection.webapp.handlers import not_found

# Paths the web app never answers: their 404s (and everything else) stay JSON, as API clients expect.
NOT_WEBAPP = ("/api", "/oauth2", "/download/", "/avatars/", "/_localsection", "/livez", "/readyz", "/metrics",
              "/__test__")


def serves(path: str) -> bool:
    """Whether an unknown `path` gets the web app's HTML 404 page (else the API's JSON 404)."""
    return not path.startswith(NOT_WEBAPP)


async def static(request: Request) -> Response:
    """`/static/<name>`: our own CSS/JS, with a content hash in every URL, so cached for a year."""
    file = templating.STATIC_FILES.get(str(request.path_params.get("name", "")))
    if file is None:
        return await not_found(request)
    if request.query_params.get("v", file.version) != file.version:
        cache = "no-cache"  # an old page asking for an old version: the current file, not cached long
    else:
        cache = "public, max-age=31536000, immutable"
    return Response(file.body, media_type=file.media_type,
                    headers={"Cache-Control": cache, "X-Content-Type-Options": "nosniff", "ETag": f'"{file.version}"'})


def webapp_routes(state: AppState) -> list[BaseRoute]:
    """Every page of the web app. Other parts add their own Route lines here (see docs/webapp.md)."""
    del state  # pages find it as request.app.state.ls
    return [
        Route("/", auth.home),
        Route("/login", auth.login, methods=["GET", "POST"]),
        Route("/logout", auth.logout, methods=["POST"]),
        Route("/password/forgot", auth.forgot, methods=["GET", "POST"]),
        Route("/password/reset/{token}", auth.reset, methods=["GET", "POST"]),
        Route("/me", profile.me, methods=["GET", "POST"]),
        # web-tasks: a project's task list, board, task forms, live updates
        Route("/project/{pid:int}/", tasks.task_list),
        Route("/project/{pid:int}/board", board.board),
        Route("/project/{pid:int}/tasks/new", tasks.task_new, methods=["GET", "POST"]),
        Route("/project/{pid:int}/tasks/complete", tasks.bulk_complete, methods=["POST"]),
        Route("/project/{pid:int}/{tid:int}/edit", tasks.task_edit, methods=["GET", "POST"]),
        Route("/project/{pid:int}/{tid:int}/complete", tasks.task_complete, methods=["POST"]),
        Route("/project/{pid:int}/{tid:int}/reopen", tasks.task_reopen, methods=["POST"]),
        Route("/project/{pid:int}/{tid:int}/delete", tasks.task_delete, methods=["GET", "POST"]),
        Route("/project/{pid:int}/{tid:int}/move", board.move, methods=["POST"]),
        Route("/live", live.live),
        Route("/static/{name}", static),
        Route("/robots.txt", robots),
        # web-taskpage: the task page (comments, costs, timer, tags, files, activity) and reports
        Route("/project/{pid:int}/{tid:int}/", taskpage.task_page_view),
        Route("/project/{pid:int}/{tid:int}/{sid:int}/", taskpage.task_page_view),
        Route("/project/{pid:int}/{tid:int}/comments", taskpage.comment_new, methods=["POST"]),
        Route("/project/{pid:int}/{tid:int}/comments/{cid:int}/edit", taskpage.comment_edit, methods=["POST"]),
        Route("/project/{pid:int}/{tid:int}/comments/{cid:int}/delete", taskpage.comment_delete, methods=["POST"]),
        Route("/project/{pid:int}/{tid:int}/costs", taskpage.cost_add, methods=["POST"]),
        Route("/project/{pid:int}/{tid:int}/costs/{cost_id:int}", taskpage.cost_edit, methods=["POST"]),
        Route("/project/{pid:int}/{tid:int}/costs/{cost_id:int}/delete", taskpage.cost_delete, methods=["POST"]),
        Route("/project/{pid:int}/{tid:int}/timer/start", taskpage.timer_start, methods=["POST"]),
        Route("/project/{pid:int}/{tid:int}/timer/stop", taskpage.timer_stop, methods=["POST"]),
        Route("/project/{pid:int}/{tid:int}/tags", taskpage.task_tags, methods=["POST"]),
        Route("/project/{pid:int}/{tid:int}/files/{fid:int}", taskpage.file_download),
        Route("/reports", reports.reports_page),
        Route("/reports/export.csv", reports.reports_csv),
        # web-projects: projects, people, account settings
        Route("/projects", projects.project_list),
        Route("/projects/new", projects.project_new, methods=["GET", "POST"]),
        Route("/project/{pid:int}/edit", projects.project_edit, methods=["GET", "POST"]),
        Route("/project/{pid:int}/members", projects.project_members, methods=["GET", "POST"]),
        Route("/project/{pid:int}/close", projects.project_close, methods=["POST"]),
        Route("/project/{pid:int}/reopen", projects.project_reopen, methods=["POST"]),
        Route("/people", people.people, methods=["GET", "POST"]),
        Route("/settings", settings.settings, methods=["GET", "POST"]),
        Route("/settings/webhooks/new", settings.webhook_new, methods=["POST"]),
        Route("/settings/webhooks/{wid:int}", settings.webhook_log, methods=["GET", "POST"]),
    ]


async def robots(_: Request) -> Response:
    return PlainTextResponse("User-agent: *\nDisallow: /\n")
