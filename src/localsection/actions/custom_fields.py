"""get_task_custom_fields / get_project_custom_fields: the API adapters of domain.custom_fields.

The definition/value rules live in domain.custom_fields. `create_field`, `list_fields` and `set_value` here keep
their old (session, account id) signatures for the CLI until it calls the domain functions with a context.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from localsection import render
from localsection.api.params import Params
from localsection.api.registry import action
from localsection.config import Settings
from localsection.ctx import Ctx
from localsection.domain import custom_fields
from localsection.domain.custom_fields import APPLIES_TO, TYPES, CustomFieldError
from localsection.models import Account, CustomField
from localsection.render import custom_fields as rcf

__all__ = ["APPLIES_TO", "TYPES", "CustomFieldError", "create_field", "list_fields", "set_value"]


@action("get_task_custom_fields", scope="tasks_read")
def get_task_custom_fields(ctx: Ctx, p: Params) -> dict[str, Any]:
    """Custom field definitions of tasks."""
    return render.ok_data([rcf.definition(f) for f in custom_fields.definitions(ctx, applies_to="task")])


@action("get_project_custom_fields", scope="projects_read")
def get_project_custom_fields(ctx: Ctx, p: Params) -> dict[str, Any]:
    """Custom field definitions of projects."""
    return render.ok_data([rcf.definition(f) for f in custom_fields.definitions(ctx, applies_to="project")])


# -- the old (session, account id) entry points of the CLI ------------------------------------------

def _operator(db: Session, account_id: int) -> Ctx:
    """The operator's context in an account: the server's own work, which may administer everything."""
    account = db.get(Account, account_id)
    if account is None:
        raise CustomFieldError(f"no account {account_id}")
    return Ctx.system(db, Settings(), account)


def create_field(db: Session, account_id: int, applies_to: str, name: str, type_: str, descr: str = "",
                 options: list[str] | None = None) -> CustomField:
    """domain.custom_fields.create_field as the operator."""
    return custom_fields.create_field(_operator(db, account_id), applies_to=applies_to, name=name, type_=type_,
                                      descr=descr, options=options or [])


def list_fields(db: Session, account_id: int) -> list[CustomField]:
    """domain.custom_fields.list_fields as the operator."""
    return custom_fields.list_fields(_operator(db, account_id))


def set_value(db: Session, account_id: int, field_id: int, object_id: int, value: str) -> Any:
    """domain.custom_fields.set_value as the operator."""
    return custom_fields.set_value(_operator(db, account_id), field_id=field_id, object_id=object_id, value=value)
