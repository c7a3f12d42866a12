"""ApiError and the Worksection status codes: the only home of the error envelope."""

from __future__ import annotations

from typing import Any


class ApiError(Exception):
    """An API-level error: HTTP 200 with {"status": "error", "status_code", "message"[, "message_details"]}.

    `code` None leaves `status_code` out, for the one answer the real service sends without it (the record cap).
    """

    def __init__(self, code: int | None, message: str, details: str | None = None, http_status: int = 200) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.details = details
        self.http_status = http_status

    def text(self) -> str:
        """The message with its details, as a person reads it (CLI lines, form errors)."""
        return f"{self.message}: {self.details}" if self.details else self.message

    def body(self) -> dict[str, Any]:
        out: dict[str, Any] = {"status": "error"}
        if self.code is not None:
            out["status_code"] = self.code
        out["message"] = self.message
        if self.details is not None:
            out["message_details"] = self.details
        return out


class HttpRefusal(Exception):
    """A transport-level refusal (401/404/405/413/414/429) with a JSON body that every client reads."""

    def __init__(self, http_status: int, message: str, headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.http_status = http_status
        self.message = message
        self.headers = headers or {}

    def body(self) -> dict[str, Any]:
        out: dict[str, Any] = {"status": "error", "message": self.message}
        if self.http_status == 401:
            out["errorDescription"] = self.message
        return out


# Constructors for the messages of PROTOCOL.md §1.6, so the texts live in one place.

def action_invalid(details: str | None = None) -> ApiError:
    return ApiError(0, "Action is invalid", details)


def action_required() -> ApiError:
    return ApiError(1, "Action is required")


def hash_invalid() -> ApiError:
    return ApiError(2, "Action hash is missed or invalid")


def page_invalid() -> ApiError:
    return ApiError(3, "Page is invalid")


def project_invalid() -> ApiError:
    return ApiError(4, "Project is invalid")


def task_invalid() -> ApiError:
    return ApiError(5, "Task is invalid")


def filter_invalid(reason: str) -> ApiError:
    """11 Filter is invalid, with a short reason pointing at the problem."""
    return ApiError(11, "Filter is invalid", reason)


def required(field: str) -> ApiError:
    return ApiError(10, "Field is required", field)


def invalid_email(value: str) -> ApiError:
    return ApiError(11, "Invalid email", value)


def invalid_date(field: str) -> ApiError:
    return ApiError(11, "Invalid date", field)


def invalid_value(message: str, details: str | None = None) -> ApiError:
    return ApiError(11, message, details)


def access_denied(details: str) -> ApiError:
    return ApiError(20, "Access denied", details)


def too_many(cap: int) -> ApiError:
    """The record cap (§9.1): `{"status":"error","message":"Too many tasks (10000 max)"}`, no status_code (§1.6)."""
    return ApiError(None, f"Too many tasks ({cap} max)")


# -- projects, members and tags --

def project_already_closed() -> ApiError:
    return ApiError(12, "Project is already closed")


def project_already_active() -> ApiError:
    return ApiError(12, "Project is already active")


def title_too_long(details: str) -> ApiError:
    return ApiError(11, "Title is too long", details)


def group_invalid(title: str) -> ApiError:
    """An unknown team (user group) title."""
    return ApiError(11, "Group is invalid", title)


def tag_invalid(ref: str) -> ApiError:
    return ApiError(16, "Tag is invalid", ref)


def tag_group_invalid(ref: str) -> ApiError:
    return ApiError(16, "Tag group is invalid", ref)


# -- tasks, search, comments, files --

def task_closed() -> ApiError:
    """A subtask under a done parent (post_task with id_parent)."""
    return ApiError(8, "Task is closed")


def task_already_closed() -> ApiError:
    return ApiError(12, "Task is already closed")


def task_already_active() -> ApiError:
    return ApiError(12, "Task is already active")


def task_has_children() -> ApiError:
    return ApiError(13, "Task has children")


def parent_task_done() -> ApiError:
    return ApiError(14, "Parent task is done")


def costs_required() -> ApiError:
    return ApiError(11, "Costs are required")


def one_of_required(fields: str) -> ApiError:
    """search_tasks without any of its scope parameters."""
    return ApiError(10, "At least one of fields required", fields)


def file_too_large(name: str) -> ApiError:
    return ApiError(11, "File is too large", name)


def file_not_found(details: str | None = None) -> ApiError:
    return ApiError(4, "File not found", details)


# -- costs, timers, custom fields, schedules, events, webhooks --

def invalid_id(field: str) -> ApiError:
    return ApiError(11, "Invalid id", field)


def invalid_number(field: str) -> ApiError:
    return ApiError(11, "Invalid number", field)


def invalid_time(field: str) -> ApiError:
    return ApiError(11, "Invalid time", field)


def costs_not_found() -> ApiError:
    return ApiError(4, "Costs not found")


def costs_timer_only() -> ApiError:
    return ApiError(11, "Costs can be added from timer only")


def costs_today_only() -> ApiError:
    return ApiError(11, "Costs can be added for today only")


def timer_already_started() -> ApiError:
    return ApiError(6, "Timer is already started")


def timer_not_found() -> ApiError:
    return ApiError(7, "Timer not found")


def timer_not_started() -> ApiError:
    return ApiError(7, "Timer is not started")


def webhook_probe_failed(url: str) -> ApiError:
    return ApiError(11, "Url should respond 200 HTTP_CODE and JSON {status:OK}", url)


def webhook_events_invalid(names: str) -> ApiError:
    return ApiError(11, "Invalid events", names)


def webhook_not_found() -> ApiError:
    return ApiError(10, "WebHook not found")


def comment_not_found() -> ApiError:
    """A comment that does not exist or is hidden from the caller (web app: edit / delete)."""
    return ApiError(4, "Comment not found")


def delivery_not_found() -> ApiError:
    """A webhook delivery that cannot be sent again (not a failed attempt of that webhook, or purged)."""
    return ApiError(10, "Delivery not found")
