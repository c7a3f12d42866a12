"""Custom field definitions and values (SDK `CustomField` / `CustomValue` models; PROTOCOL.md §4.2, §3.3).

Field ids are strings like every other object id (§3.2 lists no exception for them). Values by type:
text/link/select -> string, number -> JSON number, date -> "YYYY-MM-DD", multiselect -> list of strings,
checkbox -> 1/0, user -> user reference {id, email, name}.
"""

from __future__ import annotations

from collections.abc import Collection
from decimal import Decimal
from typing import Any

from localsection.ctx import Ctx
from localsection.models import CustomField
from localsection.read.custom_fields import FieldValue, field_values
from localsection.render import sid
from localsection.render.members import user_ref


def definition(f: CustomField) -> dict[str, Any]:
    """{id, type, name, descr, options} of get_task_custom_fields / get_project_custom_fields."""
    return {"id": sid(f.id), "type": f.type, "name": f.name, "descr": f.descr, "options": list(f.options or [])}


def _number(stored: Any) -> int | float:
    d = Decimal(str(stored))
    return int(d) if d == d.to_integral_value() else float(d)


def values(items: list[FieldValue]) -> list[dict[str, Any]]:
    """The `custom_fields` list [{id, type, name, value}] of one object; a `user` value whose user is gone is
    left out."""
    out: list[dict[str, Any]] = []
    for item in items:
        f = item.field
        if f.type == "user":
            if item.user is None:
                continue
            value: Any = user_ref(item.user)
        elif f.type == "number":
            value = _number(item.stored)
        else:
            value = item.stored
        out.append({"id": sid(f.id), "type": f.type, "name": f.name, "value": value})
    return out


def custom_field_values(ctx: Ctx, applies_to: str, object_ids: Collection[int]) -> dict[int, list[dict[str, Any]]]:
    """The `custom_fields` list of each task ("task") or project ("project") that has values, by object id."""
    rows = field_values(ctx, applies_to, object_ids)
    shaped = {object_id: values(items) for object_id, items in rows.items()}
    return {object_id: items for object_id, items in shaped.items() if items}
