"""Custom fields of tasks and projects (PROTOCOL.md §4.2, §3.3): definitions and values.

Definitions are made per account by an administrator (the operator's `localsection custom-fields create`); every
user may list them, and values are shown with `extra=custom_fields` (render.custom_fields.custom_field_values).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any, Literal

from sqlalchemy import bindparam, delete, select

from localsection import access, errors
from localsection.ctx import Ctx
from localsection.db import Prepared, Snapshot
from localsection.formats import is_digits, parse_date, parse_decimal, parse_flag
from localsection.models import CustomField, CustomFieldValue, Project, Task, User

TYPES = ("text", "number", "date", "select", "multiselect", "checkbox", "user", "link")
APPLIES_TO = ("task", "project")
AppliesTo = Literal["task", "project"]
_CHOICE_TYPES = ("select", "multiselect")
_URL = re.compile(r"^https?://\S+$", re.IGNORECASE)


class CustomFieldError(ValueError):
    """A definition or value an administrator gave is not acceptable (the message says why)."""


# Built once (statement construction cost more than the query).
_FIELDS = Snapshot(CustomField)
_DEFINITIONS = Prepared(select(*_FIELDS.columns).where(CustomField.account_id == bindparam("account"),
                                                       CustomField.applies_to == bindparam("applies_to"))
                        .order_by(CustomField.id))


def definitions(ctx: Ctx, *, applies_to: AppliesTo) -> list[CustomField]:
    """The account's field definitions of tasks or projects (read-only snapshots), in id order."""
    rows = _DEFINITIONS.all(ctx.db, {"account": ctx.account_id, "applies_to": applies_to})
    return [_FIELDS.build(f) for f in rows]


def list_fields(ctx: Ctx) -> list[CustomField]:
    """Every definition of the account: task fields first, then project fields, each in id order."""
    return list(ctx.db.scalars(select(CustomField).where(CustomField.account_id == ctx.account_id)
                               .order_by(CustomField.applies_to.desc(), CustomField.id)))


def create_field(ctx: Ctx, *, applies_to: str, name: str, type_: str, descr: str = "",
                 options: Sequence[str] = ()) -> CustomField:
    """Define a field (admins only); choices are required for select/multiselect and refused for other types."""
    access.require_admin(ctx)
    if applies_to not in APPLIES_TO:
        raise CustomFieldError(f"--for must be one of: {', '.join(APPLIES_TO)} (got {applies_to!r})")
    if type_ not in TYPES:
        raise CustomFieldError(f"--type must be one of: {', '.join(TYPES)} (got {type_!r})")
    name = name.strip()
    if not name or len(name) > 255:
        raise CustomFieldError("--name must be 1 to 255 characters")
    choices = list(dict.fromkeys(o.strip() for o in options if o.strip()))
    if type_ in _CHOICE_TYPES and not choices:
        raise CustomFieldError(f"a {type_} field needs at least one --option")
    if type_ not in _CHOICE_TYPES and choices:
        raise CustomFieldError(f"--option is only for select and multiselect fields, not {type_}")
    field = CustomField(account_id=ctx.account_id, applies_to=applies_to, name=name, type=type_, descr=descr,
                        options=choices)
    ctx.db.add(field)
    ctx.db.flush()
    return field


def set_value(ctx: Ctx, *, field_id: int, object_id: int, value: str) -> Any:
    """Store the value of a field on a task/project of the account (admins only; empty clears it).

    Returns the stored JSON form (None when cleared)."""
    access.require_admin(ctx)
    db, account_id = ctx.db, ctx.account_id
    field = db.scalars(select(CustomField).where(CustomField.id == field_id,
                                                 CustomField.account_id == account_id)).first()
    if field is None:
        raise CustomFieldError(f"no custom field {field_id} in this account")
    model = Task if field.applies_to == "task" else Project
    if db.scalars(select(model.id).where(model.id == object_id, model.account_id == account_id)).first() is None:
        raise CustomFieldError(f"no {field.applies_to} {object_id} in this account")
    # Checked before the old value goes, so a refused value leaves the stored one in place.
    stored = None if value.strip() == "" else _parse_value(ctx, field, value.strip())
    db.execute(delete(CustomFieldValue).where(CustomFieldValue.field_id == field.id,
                                              CustomFieldValue.object_id == object_id))
    if stored is None:
        return None
    db.add(CustomFieldValue(field_id=field.id, object_id=object_id, value=stored))
    db.flush()
    return stored


def _parse_value(ctx: Ctx, field: CustomField, value: str) -> Any:
    """Check a value against the field type and return its stored JSON form."""
    kind = field.type
    try:
        if kind == "number":
            return format(parse_decimal(value, field.name).normalize(), "f")
        if kind == "date":
            return parse_date(value, field.name).isoformat()
    except errors.ApiError:
        raise CustomFieldError(f"{value!r} is not a valid {kind}") from None
    if kind in _CHOICE_TYPES:
        picked = [value] if kind == "select" else list(dict.fromkeys(v.strip() for v in value.split(",")
                                                                     if v.strip()))
        unknown = [v for v in picked if v not in field.options]
        if unknown:
            raise CustomFieldError(f"{unknown[0]!r} is not an option of {field.name} "
                                   f"(options: {', '.join(field.options)})")
        return picked[0] if kind == "select" else picked
    if kind == "checkbox":
        flag = parse_flag(value)
        if flag is None:
            raise CustomFieldError(f"{value!r} is not a checkbox value (1/0, true/false)")
        return int(flag)
    if kind == "user":
        return _user_id(ctx, value)
    if kind == "link" and not _URL.match(value):
        raise CustomFieldError(f"{value!r} is not an http(s) link")
    return value


def _user_id(ctx: Ctx, ref: str) -> int:
    cond = User.id == int(ref) if is_digits(ref) and len(ref) < 19 else User.email == ref.lower()
    user = ctx.db.scalars(select(User).where(User.account_id == ctx.account_id, User.is_active.is_(True),
                                             cond)).first()
    if user is None:
        raise CustomFieldError(f"no active user {ref!r} in this account")
    return user.id
