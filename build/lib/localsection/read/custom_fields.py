"""Custom field values of tasks and projects, read for many objects at once."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Collection
from dataclasses import dataclass

from sqlalchemy import select

from localsection import access
from localsection.ctx import Ctx
from localsection.models import CustomField, CustomFieldValue, User


@dataclass(frozen=True)
class FieldValue:
    """One stored value of one field; `user` is the referenced user of a `user` field (None when gone)."""

    field: CustomField
    stored: str
    user: User | None = None


def field_values(ctx: Ctx, applies_to: str, object_ids: Collection[int]) -> dict[int, list[FieldValue]]:
    """The values of each task ("task") or project ("project"), in field-id order; objects without values are
    absent. One query for all objects, plus one for the users of `user` fields when there are any."""
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
    out: dict[int, list[FieldValue]] = defaultdict(list)
    for object_id, stored, f in rows:
        out[object_id].append(FieldValue(f, stored, users.get(int(stored)) if f.type == "user" else None))
    return dict(out)
