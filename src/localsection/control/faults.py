"""`/_localsection/faults`: rules that make API requests fail, wait or lose their connection (docs/control-api.md).

The rules live in the process's memory (api/emulation.py), are checked by the API endpoint before the action runs
and apply to the admin API, the OAuth API and downloads.
"""

from __future__ import annotations

from typing import Self

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from localsection.api.emulation import FaultRule, emulation_for
from localsection.api.registry import lookup
from localsection.control.common import ControlError, describe, handler, read_body
from localsection.state import AppState


class FaultIn(BaseModel):
    """A rule as posted: what it matches, what it does, how often."""

    model_config = ConfigDict(extra="forbid", strict=True)

    action: str | None = Field(None, min_length=1, max_length=64)
    account: str | None = Field(None, min_length=1, max_length=63)
    http_status: int | None = Field(None, ge=400, le=599)
    status_code: int | None = Field(None, ge=0, le=999)
    message: str | None = Field(None, max_length=1000)
    retry_after: int = Field(1, ge=0, le=86400)
    latency_ms: int = Field(0, ge=0, le=120_000)
    drop: bool = False
    probability: float = Field(1.0, ge=0.0, le=1.0)
    times: int | None = Field(None, ge=1)
    seed: int | None = None

    @model_validator(mode="after")
    def _one_effect(self) -> Self:
        answers = [name for name in ("http_status", "status_code") if getattr(self, name) is not None]
        if self.drop:
            answers.append("drop")
        if len(answers) > 1:
            raise ValueError(f"give only one of http_status, status_code+message, drop (got {', '.join(answers)})")
        if self.status_code is not None and not self.message:
            raise ValueError("status_code needs a message (the Worksection error text)")
        if not answers and not self.latency_ms:
            raise ValueError("the rule does nothing: give http_status, status_code+message, drop or latency_ms")
        return self


def fault_routes(state: AppState) -> list[BaseRoute]:
    emu = emulation_for(state)

    async def add(request: Request) -> Response:
        body = await read_body(request)
        try:
            given = FaultIn.model_validate(body)
        except ValidationError as exc:
            raise ControlError(describe(exc)) from None
        values = given.model_dump()
        if values["action"] is not None:
            spec = lookup(values["action"].strip())
            if spec is None:
                raise ControlError(f"action: no action named {values['action']}")
            values["action"] = spec.name  # an alias (post_subtask) matches its action
        if values["account"] is not None:
            values["account"] = values["account"].lower()
        rule = emu.add_fault(FaultRule(id=0, **values))
        return JSONResponse(rule.as_dict(), 201)

    async def listing(_: Request) -> Response:
        return JSONResponse({"status": "ok", "faults": [r.as_dict() for r in emu.faults.values()]})

    async def clear(request: Request) -> Response:
        account = request.query_params.get("account")
        return JSONResponse({"status": "ok", "removed": emu.clear_faults(account.lower() if account else None)})

    async def remove(request: Request) -> Response:
        raw = str(request.path_params["rule"])
        if not raw.isdigit() or not emu.remove_fault(int(raw)):
            raise ControlError(f"no fault rule with id {raw}", 404)
        return JSONResponse({"status": "ok", "removed": 1})

    return [
        Route("/faults", handler(add), methods=["POST"]),
        Route("/faults", handler(listing), methods=["GET"]),
        Route("/faults", handler(clear), methods=["DELETE"]),
        Route("/faults/{rule}", handler(remove), methods=["DELETE"]),
    ]
