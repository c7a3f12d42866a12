"""Custom field definitions and values (SDK `CustomField` / `CustomValue` models; PROTOCOL.md §4.2, §3.3).

Field ids are strings like every other object id (§3.2 lists no exception for them). Values by type:
text/link/select -> string, number -> JSON number, date -> "YYYY-MM-DD", multiselect -> list of strings,
checkbox -> 1/0, user -> user reference {id, email, name}.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Collection
from decimal import Decimal
from typing import Any

from sqlalchemy import select

from localsection import access
from localsection.ctx import Ctx
from localsection.models import CustomField, CustomFieldValue
from localsection.render import sid
from localsection.render.members import user_ref


def definition(f: CustomField) -> dict[str, Any]:
    """{id, type, name, descr, options} of get_task_custom_fields / get_project_custom_fields."""
    return {"id": sid(f.id), "type": f.type, "name": f.name, "descr": f.descr, "options": list(f.options or [])}


def _number(stored: Any) -> int | float:
    d = Decimal(str(stored))
    return int(d) if d == d.to_integral_value() else float(d)


def custom_field_values(ctx: Ctx, applies_to: str, object_ids: Collection[int]) -> dict[int, list[dict[str, Any]]]:
    """The `custom_fields` list [{id, type, name, value}] of each task ("task") or project ("project").

    One query for all objects (plus one for the users of `user` fields, when there are any). Only fields
    with a value are listed, in field-id order; objects without values are absent from the result.
    """
    if not object_ids:
        return {}
    rows = ctx.db.execute(
        select(CustomFieldValue.object_id, CustomFieldValue.value, CustomField)
        .join(CustomField, CustomField.id == CustomFieldValue.field_id)
        .where(CustomField.account_id == ctx.account_id, CustomField.applies_to == applies_to,
               CustomFieldValue.object_id.in_(set(object_ids)))
        .order_by(CustomFieldValue.object_id, CustomField.id)
    ).tuples().all()
    user_ids = {int(v) for _, v, f in rows if f.type == "user"}
    users = access.users_by_id(ctx.db, ctx.account_id, user_ids)
    out: dict[int, list[dict[str, Any]]] = defaultdict(list)
    for object_id, stored, f in rows:
        if f.type == "user":
            user = users.get(int(stored))
            if user is None:
                continue
            value: Any = user_ref(user)
        elif f.type == "number":
            value = _number(stored)
        else:
            value = stored
        out[object_id].append({"id": sid(f.id), "type": f.type, "name": f.name, "value": value})
    return dict(out)
