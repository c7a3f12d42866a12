"""Users, teams, contacts and contact folders (PROTOCOL.md §3.3, §4.1)."""

from __future__ import annotations

from typing import Any

from localsection.ctx import Ctx
from localsection.models import Contact, ContactFolder, Team, User
from localsection.render import number, put, sid

# Pseudo users (PROTOCOL.md §3.3)
ANY_EXECUTIVE = {"id": "2", "email": "ANY", "name": "Anyone"}
NOONE_EXECUTIVE = {"id": "1", "email": "NOONE", "name": "Executive isn't assigned"}
NOONE_MANAGER = {"id": "0", "email": "NOONE", "name": "Manager isn't assigned"}

PRESET_CONTACT_FOLDERS = ("USERS", "DEFAULT", "TEAM_ONLY", "HIDDEN")


def display_name(user: User) -> str:
    name = f"{user.first_name} {user.last_name}".strip()
    return name or user.email


def user_ref(user: User) -> dict[str, str]:
    return {"id": sid(user.id), "email": user.email, "name": display_name(user)}


def avatar_url(ctx: Ctx, user: User) -> str:
    return f"{ctx.base_url}/avatars/{user.id}.png"


def full_user(ctx: Ctx, user: User, teams: dict[int, Team], *, with_rate: bool = True) -> dict[str, Any]:
    """The full user object of get_users / add_user / me (`rate` omitted for me)."""
    out: dict[str, Any] = {
        "id": sid(user.id),
        "first_name": user.first_name,
        "last_name": user.last_name,
        "name": display_name(user),
        "title": user.title,
    }
    if with_rate:
        out["rate"] = number(user.rate) or 0
    team = teams.get(user.team_id) if user.team_id else None
    out.update({
        "avatar": avatar_url(ctx, user),
        "group": team.title if team else "",
        "department": user.department,
        "role": user.role,
        "email": user.email,
    })
    for key in ("phone", "phone2", "phone3", "phone4", "address", "address2"):
        put(out, key, getattr(user, key))
    return out


def team(t: Team) -> dict[str, Any]:
    return {"id": sid(t.id), "title": t.title, "type": "company", "client": 1 if t.client else 0}


def contact(c: Contact, folders: dict[int, ContactFolder]) -> dict[str, Any]:
    folder = folders.get(c.folder_id) if c.folder_id else None
    out: dict[str, Any] = {
        "id": sid(c.id),
        "first_name": c.first_name,
        "last_name": c.last_name,
        "name": f"{c.first_name} {c.last_name}".strip(),
        "title": c.title,
        "group": folder.title if folder else (c.preset_folder or "DEFAULT"),
        "email": c.email,
    }
    for key in ("phone", "phone2", "phone3", "phone4", "address", "address2"):
        put(out, key, getattr(c, key))
    return out


def preset_contact_folders() -> list[dict[str, Any]]:
    return [{"id": i + 1, "title": t, "type": "preset"} for i, t in enumerate(PRESET_CONTACT_FOLDERS)]


def contact_folder(f: ContactFolder) -> dict[str, Any]:
    return {"id": sid(f.id), "title": f.title, "type": "folder"}
