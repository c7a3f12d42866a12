"""Members, teams, contacts and contact folders (PROTOCOL.md §4.1): the API adapters of domain.members."""

from __future__ import annotations

from typing import Any

from localsection import render
from localsection.api.params import Params
from localsection.api.registry import action
from localsection.ctx import Ctx
from localsection.domain import members
from localsection.domain.members import ROLE_ALIASES, NewContact, NewUser
from localsection.models import Team
from localsection.render import members as rm

_CONTACT_FIELDS = {"phone": 64, "phone2": 64, "phone3": 64, "phone4": 64, "address": 255, "address2": 255}


def _opt(p: Params, name: str, limit: int = 255) -> str:
    """An optional text field: trimmed (a leading `+` decoded to a space goes too) and cut to the column size."""
    return (p.text(name) or "").strip()[:limit]


def _teams(ctx: Ctx) -> dict[int, Team]:
    return members.teams_by_id(ctx)


@action("me", scope=None, user_only=True)
def me(ctx: Ctx, p: Params) -> dict[str, Any]:
    """The token user's own profile (no `rate`)."""
    return render.ok_data(rm.full_user(ctx, ctx.user, _teams(ctx), with_rate=False))


@action("get_users", scope="users_read")
def get_users(ctx: Ctx, p: Params) -> dict[str, Any]:
    """All active users of the account; `is_me_only` returns the caller alone (old SDK)."""
    teams = _teams(ctx)
    if p.flag("is_me_only"):
        return render.ok_data(rm.full_user(ctx, ctx.user, teams))
    return render.ok_data([rm.full_user(ctx, u, teams) for u in members.list_users(ctx)])


@action("add_user", scope="users_write")
def add_user(ctx: Ctx, p: Params) -> dict[str, Any]:
    """Invite a user; an e-mail that is already a member returns that user unchanged."""
    user = members.add_user(ctx, new=NewUser(
        email=p.text("email") or "", role=ROLE_ALIASES.get(_opt(p, "role").lower(), "user"), team=_opt(p, "group"),
        first_name=_opt(p, "first_name"), last_name=_opt(p, "last_name"), title=_opt(p, "title"),
        department=_opt(p, "department")))
    return render.ok_data(rm.full_user(ctx, user, _teams(ctx)))


@action("get_user_groups", scope="users_read")
def get_user_groups(ctx: Ctx, p: Params) -> dict[str, Any]:
    return render.ok_data([rm.team(t) for t in members.list_teams(ctx)])


@action("add_user_group", scope="users_write")
def add_user_group(ctx: Ctx, p: Params) -> dict[str, Any]:
    """Create a team unless one has this title (then that one is returned)."""
    return render.ok_data(rm.team(members.add_team(ctx, title=_opt(p, "title"), client=bool(p.flag("client")))))


@action("get_contacts", scope="contacts_read")
def get_contacts(ctx: Ctx, p: Params) -> dict[str, Any]:
    folders = members.contact_folders_by_id(ctx)
    return render.ok_data([rm.contact(c, folders) for c in members.list_contacts(ctx)])


@action("add_contact", scope="contacts_write")
def add_contact(ctx: Ctx, p: Params) -> dict[str, Any]:
    """Create a contact (no invitation); `group` names a folder, created when new."""
    contact = members.add_contact(ctx, new=NewContact(
        email=p.text("email") or "", name=_opt(p, "name", limit=511), folder=_opt(p, "group") or "DEFAULT",
        title=_opt(p, "title"), **{k: _opt(p, k, limit) for k, limit in _CONTACT_FIELDS.items()}))
    return render.ok_data(rm.contact(contact, members.contact_folders_by_id(ctx)))


@action("get_contact_groups", scope="contacts_read")
def get_contact_groups(ctx: Ctx, p: Params) -> dict[str, Any]:
    """The four preset folders (integer ids) followed by the account's own folders."""
    own = members.list_contact_folders(ctx)
    return render.ok_data(rm.preset_contact_folders() + [rm.contact_folder(f) for f in own])


@action("add_contact_group", scope="contacts_write")
def add_contact_group(ctx: Ctx, p: Params) -> dict[str, Any]:
    folder = members.add_contact_folder(ctx, title=_opt(p, "title"))
    if isinstance(folder, str):
        return render.ok_data(rm.preset_contact_folders()[rm.PRESET_CONTACT_FOLDERS.index(folder)])
    return render.ok_data(rm.contact_folder(folder))
