"""The only code that sees HTTP for the API paths: read params, find the action, authenticate, run, render."""

from __future__ import annotations

import asyncio
import http
import logging
import re
import time
import urllib.parse
from dataclasses import dataclass
from typing import Any

import orjson
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import Receive, Scope, Send

from localsection import access, accounts, errors, tokens
from localsection.api import auth
from localsection.api.emulation import REALISTIC_CAP, FaultRule, emulation_for
from localsection.api.limits import TOO_LARGE, BodyGuard, BodyTooLarge
from localsection.api.params import Params, UploadedPart
from localsection.api.paths import ACCOUNT_KEY
from localsection.api.ratelimit import rate_limiter
from localsection.api.registry import ActionSpec, lookup
from localsection.ctx import Ctx
from localsection.db import NotOnThisLoop, WouldBlock
from localsection.errors import ApiError, HttpRefusal
from localsection.formats import is_digits, strict_inputs
from localsection.observe import record
from localsection.observe.record import current as observed
from localsection.sharedstore import store_for
from localsection.state import AppState

log = logging.getLogger("localsection.api")
RETRIES = 3  # attempts of one action whose transaction lost a race
INLINE_PATIENCE = 0.5  # seconds an event-loop action waits for the write lock before using a thread
DECODE_INLINE_BYTES = 64 * 1024  # larger bodies are decoded, and their actions run, in a worker thread

API_HEADERS = {
    "Cache-Control": "no-store, no-cache, must-revalidate",
    "Pragma": "no-cache",
    "Expires": "Thu, 19 Nov 1981 08:52:00 GMT",
    "X-Frame-Options": "SAMEORIGIN",
    "Access-Control-Allow-Origin": "*",
}
JSON_TYPE = "application/json; charset=utf-8"
_PAGE = re.compile(r"^/project/(\d+)/(?:(\d+)/)?(?:(\d+)/)?$")


TRANSPORT_KEY = "localsection.transport"  # the connection's asyncio transport (server.py puts it in the scope)


class ConnectionDropped(Exception):
    """A fault rule asked to close the connection without an answer."""


async def drop_connection(scope: Scope) -> None:
    """Close the client's connection without answering (a `drop` fault); raise when the server gives no way to."""
    transport = scope.get(TRANSPORT_KEY)
    if transport is None:
        raise ConnectionDropped("the connection cannot be dropped here (no transport in the ASGI scope)")
    transport.abort()
    for _ in range(3):  # let the loop report the closed connection, so the server sends nothing after us
        await asyncio.sleep(0)


_RAW_API_HEADERS = [(k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in API_HEADERS.items()]
_RAW_JSON_TYPE = (b"content-type", JSON_TYPE.encode("latin-1"))


class JsonResponse(Response):
    """A JSON answer with the API's fixed headers, encoded once per process, sent as two ASGI messages."""

    def __init__(self, content: Any, status_code: int = 200, headers: dict[str, str] | None = None) -> None:
        self.body = orjson.dumps(content)
        self.status_code = status_code
        self.background = None
        self.raw_headers = [_RAW_JSON_TYPE, (b"content-length", str(len(self.body)).encode("latin-1")),
                            *_RAW_API_HEADERS]
        if headers:
            self.raw_headers += [(k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in headers.items()]

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await send({"type": "http.response.start", "status": self.status_code, "headers": self.raw_headers})
        await send({"type": "http.response.body", "body": self.body})


def json_response(body: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    return JsonResponse(body, status, headers)


@dataclass
class Incoming:
    """What the API reads of one HTTP request, taken straight from the ASGI scope."""

    scope: Scope
    receive: Receive
    method: str
    headers: dict[str, str]  # lower-case names; a repeated header keeps its last value
    raw_query: str

    @classmethod
    def of(cls, scope: Scope, receive: Receive) -> Incoming:
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope.get("headers", ())}
        raw_query = scope.get("query_string", b"").decode("utf-8", "replace")  # curl sends raw UTF-8
        return cls(scope, receive, scope.get("method", "GET"), headers, raw_query)

    @property
    def scheme(self) -> str:
        return str(self.scope.get("scheme", "http"))

    async def body(self) -> bytes:
        chunks: list[bytes] = []
        while True:
            message = await self.receive()
            if message["type"] == "http.disconnect":
                break
            chunks.append(message.get("body", b""))
            if not message.get("more_body", False):
                break
        return b"".join(chunks)


class ApiEndpoint:
    """ASGI app serving `/api/admin/v2` (kind="admin") or `/api/oauth2` (kind="user")."""

    def __init__(self, state: AppState, kind: str) -> None:
        self.state = state
        self.kind = kind
        self.limiter = rate_limiter(state.settings.rate_limit_per_second, state.settings.rate_limit_burst,
                                    store_for(state), kind)
        self.emu = emulation_for(state)
        self.realistic_settings = state.settings.with_(record_cap=state.settings.record_cap or REALISTIC_CAP)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        guard = BodyGuard(receive, self.state.settings.max_body_bytes)
        try:
            response = await self.handle(Incoming.of(scope, guard.receive), guard)
        except BodyTooLarge:
            response = json_response(TOO_LARGE, 413)
        except ConnectionDropped:
            await drop_connection(scope)
            return
        await response(scope, receive, send)

    async def handle(self, request: Incoming, guard: BodyGuard | None = None) -> Response:
        if request.method not in ("GET", "POST"):
            return json_response({"status": "error", "message": "Method not allowed"}, 405,
                                 {"Allow": "GET, POST"})
        raw_query = request.raw_query
        settings = self.state.settings
        if len(request.scope.get("raw_path", b"")) + len(raw_query) > settings.max_url_bytes:
            return json_response({"status": "error", "message": "Request URL is too long"}, 414)
        limit = self.body_cap(raw_query, request.headers.get("content-type", ""))
        if guard is not None:
            guard.limit = limit
        declared = request.headers.get("content-length", "")
        if is_digits(declared) and int(declared) > limit:
            return json_response(TOO_LARGE, 413)
        params = await read_params(request, raw_query)
        try:
            return await self.dispatch(request, params)
        finally:
            for part in params.files:
                part.file.close()

    def body_cap(self, raw_query: str, content_type: str) -> int:
        """Files only come in multipart bodies to actions that take uploads (or to an action only the body names):
        those may send up to max_body_bytes. Every other body carries parameters only: max_params_bytes."""
        settings = self.state.settings
        if not content_type.lower().startswith("multipart/form-data"):
            return settings.max_params_bytes
        name = next((v for k, v in urllib.parse.parse_qsl(raw_query, keep_blank_values=True) if k == "action"), None)
        if name is None:
            return settings.max_body_bytes
        spec = lookup(name.strip())
        return settings.max_body_bytes if spec is not None and spec.uploads else settings.max_params_bytes

    async def dispatch(self, request: Incoming, params: Params) -> Response:
        rec = observed()
        if rec is not None:
            rec.params = params  # a reference: redacted only if the journal shows it
        query_action = params.query_value("action")
        name = (query_action if query_action is not None else params.text("action")) or ""
        if not name.strip():
            return refusal(rec, errors.action_required())
        body_action = params.body_value("action")
        if self.kind == "admin" and query_action is not None and body_action not in (None, query_action):
            # The query decides what runs (§1.3); a different action in the body is an attempt to run one
            # action under another's signature (PROTOCOL.md §2.1).
            return refusal(rec, errors.hash_invalid())
        spec = lookup(name.strip())
        if spec is None:
            return refusal(rec, errors.action_invalid())
        if rec is not None:
            rec.action = spec.name
        if spec.user_only and self.kind == "admin":
            return refusal(rec, errors.action_invalid("user method: access token only"))
        if self.emu.faults:  # the emulator's injected faults (api/emulation.py); nothing to do without rules
            injected = await self.injected(request, spec.name)
            if injected is not None:
                return injected
        headers = {"host": request.headers.get("host", ""),
                   "authorization": request.headers.get("authorization", ""),
                   "scheme": request.scheme, "account": "", "root": ""}
        if ACCOUNT_KEY in request.scope:  # /a/<account>/...: the path names the account (api/paths.py)
            headers["account"] = request.scope[ACCOUNT_KEY]
            headers["root"] = request.scope["root_path"]
        try:
            result = await self._run(spec, name.strip(), params, headers)
        except ApiError as exc:
            return refusal(rec, exc)
        except HttpRefusal as exc:
            return json_response(exc.body(), exc.http_status, exc.headers)
        except Exception:
            # A bug must still answer JSON: the SDK reports a non-JSON body as "Invalid response body".
            log.exception("action %s failed", name.strip())
            return json_response({"status": "error", "message": "Internal server error"}, 500)
        if isinstance(result, Response):
            return result
        if rec is not None and isinstance(result, dict) and result.get("status") == "error":
            rec.fail(result.get("status_code"))
        return json_response(result)

    async def injected(self, request: Incoming, action: str) -> Response | None:
        """Apply the first fault rule that fires for this request: wait, then answer the fault (None: run the
        action as usual). Checked before the action runs, so a fault never leaves anything written."""
        settings = self.state.settings
        account = (request.scope.get(ACCOUNT_KEY) or accounts.account_name_from_host(request.headers.get("host", ""),
                                                                                     settings)
                   or settings.default_account or None)
        if account is None and any(r.needs_account for r in self.emu.faults.values()):
            account = await run_in_threadpool(self._default_account_name)
        rule = self.emu.fault_for(action, account)
        if rule is None:
            return None
        rec = observed()  # the journal shows the refused call under its account, like any other
        if rec is not None and account:
            rec.account = account
        if rule.latency_ms:
            await asyncio.sleep(rule.latency_ms / 1000)
        return fault_response(rule)

    def _default_account_name(self) -> str | None:
        with self.state.db.session() as db:
            found = accounts.default_account(db, self.state.settings)
            return found.name if found is not None else None

    async def _run(self, spec: ActionSpec, name: str, params: Params, headers: dict[str, str]) -> Any:
        """Run a short SQLite action right here on the event loop, anything else in a worker thread.

        On the loop an action never waits inside SQLite or on a lock: while another writer (a worker thread,
        the webhook worker, another process) holds the write lock, it yields to the loop and tries again
        (WouldBlock); after INLINE_PATIENCE, or when its transaction lost a race, it goes to a worker thread
        that waits and retries as usual. Every failed attempt was rolled back.
        """
        db = self.state.db
        inline = not spec.threaded and not params.files and params.body_size <= DECODE_INLINE_BYTES
        if db.runs_inline and inline and (db.writes_inline or not spec.write):
            deadline = time.monotonic() + INLINE_PATIENCE
            pause = 0.0002
            while True:
                try:
                    return self._execute_once(spec, name, params, headers, nowait=True)
                except WouldBlock:
                    if time.monotonic() + pause > deadline:
                        break
                    await asyncio.sleep(pause)
                    pause = min(pause * 2, 0.005)
                except (IntegrityError, OperationalError):
                    break
        elif db.runs_on_loop and inline:
            try:
                return await self._on_loop(spec, name, params, headers)
            except NotOnThisLoop:
                pass
        return await run_in_threadpool(self.execute, spec, name, params, headers)

    async def _on_loop(self, spec: ActionSpec, name: str, params: Params, headers: dict[str, str]) -> Any:
        """PostgreSQL: the action on the event loop (db.run_on_loop), retried like `execute` when it lost a race."""
        db = self.state.db
        for attempt in range(1, RETRIES + 1):
            try:
                return await db.run_on_loop(lambda session: self._perform(session, spec, name, params, headers),
                                            write=spec.write)
            except (IntegrityError, OperationalError):
                if attempt == RETRIES:
                    raise
                await asyncio.sleep(0.005 * attempt)
        raise AssertionError("unreachable")

    def execute(self, spec: ActionSpec, name: str, params: Params, headers: dict[str, str]) -> Any:
        """Run the action's transaction, retrying it when it lost a race (unique insert, deadlock, lock)."""
        for attempt in range(1, RETRIES + 1):
            try:
                return self._execute_once(spec, name, params, headers)
            except (IntegrityError, OperationalError):
                if attempt == RETRIES:
                    raise
                for part in params.files:
                    part.file.seek(0)
                time.sleep(0.005 * attempt)
        raise AssertionError("unreachable")

    def _execute_once(self, spec: ActionSpec, name: str, params: Params, headers: dict[str, str],
                      nowait: bool = False) -> Any:
        """Authenticate, authorize and run one action inside one transaction."""
        if nowait:
            return self.state.db.run_inline(lambda db: self._perform(db, spec, name, params, headers), spec.write)
        with self.state.db.session(write=spec.write, nowait=nowait) as db:
            return self._perform(db, spec, name, params, headers)

    def _perform(self, db: Session, spec: ActionSpec, name: str, params: Params, headers: dict[str, str]) -> Any:
        """Authenticate, authorize and run one action in the transaction of `db`."""
        settings = self.state.settings
        account, owner = accounts.resolve_account_and_owner(
            db, headers["host"], settings, headers["account"] or None)
        rec = observed()
        if self.kind == "admin":
            if headers["authorization"].lower().startswith("bearer "):
                raise errors.hash_invalid()
            if rec is not None:
                rec.identify(record.ADMIN_HEADER if headers["authorization"].lower().startswith("admin ")
                             else record.MD5, account=account.name)
            caller = auth.authenticate_admin(account, owner, params, headers["authorization"], name, settings)
        else:
            if rec is not None:
                rec.identify(record.BEARER, account=account.name)
            caller = self._authenticate_token(db, account, params, headers["authorization"])
        if rec is not None:
            rec.caller = record.ADMIN_KEY if caller.via_admin_key else caller.user.email
        # One bucket per account and credential: the admin key, or one user's tokens.
        self.limiter.check(f"{account.id}:" + ("admin" if caller.via_admin_key else f"user:{caller.user.id}"))
        emu = self.emu
        realistic = emu.realistic_everywhere or (bool(emu.realistic_accounts)
                                                 and account.name in emu.realistic_accounts)
        if realistic:
            # Realistic mode: 1 request/s per credential (the API key; each OAuth token), the record cap.
            token = None if caller.via_admin_key else auth.bearer_token(headers["authorization"], params)
            emu.limiter.check(f"{account.id}:" + ("key" if token is None else "token:" + token[-43:]))
            settings = self.realistic_settings
        authorize(spec, caller)
        apply_legacy_page(params)
        base_url = self.state.base_url(account.name, headers["scheme"], headers["host"], headers["root"])
        if caller.via_admin_key:
            ctx = Ctx.for_admin_key(db, settings, caller.account, caller.user, base_url=base_url,
                                    database=self.state.db)
        else:
            ctx = Ctx.for_user(db, settings, caller.account, caller.user, scopes=caller.scopes,
                               base_url=base_url, database=self.state.db)
        if realistic:
            with strict_inputs():
                return spec.func(ctx, params)
        return spec.func(ctx, params)

    def _authenticate_token(self, db: Any, account: Any, params: Params, authorization: str) -> auth.Caller:
        token = auth.bearer_token(authorization, params)
        if not token:
            raise HttpRefusal(401, "Access token is missing")
        claims = tokens.verify_access_token(db, self.state.settings, token)
        if claims.account_id != account.id:
            raise HttpRefusal(401, "Access token is invalid")
        from localsection.models import User

        user = db.get(User, claims.user_id)
        return auth.Caller(account=account, user=user, via_admin_key=False, scopes=claims.scopes)


def fault_response(rule: FaultRule) -> Response | None:
    """What a fired fault answers: no connection, an HTTP error, or a Worksection error envelope (HTTP 200)."""
    if rule.drop:
        raise ConnectionDropped()
    if rule.http_status is not None:
        message = rule.message or ("Too many requests" if rule.http_status == 429
                                   else http.HTTPStatus(rule.http_status).phrase)
        extra = {"Retry-After": str(rule.retry_after)} if rule.http_status == 429 else None
        return json_response({"status": "error", "message": message}, rule.http_status, extra)
    if rule.status_code is not None:
        return json_response({"status": "error", "status_code": rule.status_code, "message": rule.message or ""})
    return None


def refusal(rec: record.RequestRecord | None, exc: ApiError) -> Response:
    """The error envelope of `exc`, noted in the request's record."""
    if rec is not None:
        rec.fail(exc.code)
    return json_response(exc.body())


def authorize(spec: ActionSpec, caller: auth.Caller) -> None:
    """Scope and role checks of PROTOCOL.md §2.5-§2.6 for token callers."""
    if caller.via_admin_key:
        return
    scopes = caller.scopes or frozenset()
    if spec.admin_only:
        if "administrative" not in scopes:
            raise errors.access_denied("administrative")
        if caller.user.role not in access.ADMIN_ROLES:
            raise errors.access_denied("role")
        return
    if spec.scope is not None and spec.scope not in scopes:
        raise errors.access_denied(spec.scope)


def apply_legacy_page(params: Params) -> None:
    """`page=/project/P/[T/[S/]]` -> id_project / id_task (old clients)."""
    page = params.text("page")
    if page is None:
        return
    m = _PAGE.match(page.strip())
    if not m:
        raise errors.page_invalid()
    ids = [g for g in m.groups() if g]
    if len(ids) == 1:
        params.values.setdefault("id_project", ids[0])
    else:
        params.values.setdefault("id_task", ids[-1])


async def read_params(request: Incoming, raw_query: str) -> Params:
    """Merge query, urlencoded, multipart and JSON parameters (PROTOCOL.md §1.3)."""
    params = Params(raw_query=raw_query)
    params.query_pairs = urllib.parse.parse_qsl(raw_query, keep_blank_values=True, encoding="utf-8",
                                                errors="replace")
    params.add_pairs(params.query_pairs)
    if request.method != "POST":
        return params
    ctype = request.headers.get("content-type", "").lower()
    if ctype.startswith("multipart/form-data"):
        try:
            form = await Request(request.scope, request.receive).form(max_files=1000, max_fields=10000)
        except BodyTooLarge:
            raise
        except Exception:
            return params
        for key, value in form.multi_items():
            if isinstance(value, UploadFile):
                size = value.size if value.size is not None else 0
                params.files.append(UploadedPart(key, value.filename or "file",
                                                 value.content_type or "application/octet-stream",
                                                 value.file, size))
            else:
                params.body_pairs.append((key, value))
        params.body_params = bool(params.body_pairs)
        params.add_pairs(params.body_pairs)
        return params
    body = await request.body()
    if not body:
        return params
    params.body_size = len(body)
    if len(body) > DECODE_INLINE_BYTES:
        # Percent-decoding or JSON-parsing megabytes takes long enough to stall every other request.
        await run_in_threadpool(_decode_body, params, body, ctype)
    else:
        _decode_body(params, body, ctype)
    return params


def _decode_body(params: Params, body: bytes, ctype: str) -> None:
    """Merge an urlencoded or JSON body into params (a body of another type is ignored)."""
    if "json" in ctype:
        try:
            data = orjson.loads(body)
        except orjson.JSONDecodeError:
            data = None
        if isinstance(data, dict):
            params.body_json = data
            params.body_params = bool(data)
            params.add_json(data)
    elif ctype.startswith("application/x-www-form-urlencoded") or not ctype:
        params.body_pairs = urllib.parse.parse_qsl(body.decode("utf-8", "replace"), keep_blank_values=True)
        params.body_params = bool(params.body_pairs)
        params.add_pairs(params.body_pairs)
