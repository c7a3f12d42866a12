"""Members, teams, contacts and contact folders (PROTOCOL.md §4.1)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from localsection import access, errors, render
from localsection.accounts import names_from_email, valid_email
from localsection.api.params import Params
from localsection.api.registry import action
from localsection.ctx import Ctx
from localsection.models import Contact, ContactFolder, Team, User, new_user_id
from localsection.render import members as rm

ROLE_ALIASES = {
    "user": "user", "guest": "guest", "reader": "reader",
    "admin": "account admin", "account admin": "account admin",
    "manager": "team admin", "team admin": "team admin", "department admin": "department admin",
}


# Roles only an owner or account admin may hand out.
_ADMIN_GRANTED = frozenset({"account admin", "team admin", "department admin"})
_CONTACT_FIELDS = {"phone": 64, "phone2": 64, "phone3": 64, "phone4": 64, "address": 255, "address2": 255}


def _opt(p: Params, name: str, limit: int = 255) -> str:
    """An optional text field: trimmed (a leading `+` decoded to a space goes too) and cut to the column size."""
    return (p.text(name) or "").strip()[:limit]


def _req(p: Params, name: str, limit: int = 255) -> str:
    """A required text field; blank counts as missing (10 Field is required)."""
    value = _opt(p, name, limit)
    if not value:
        raise errors.required(name)
    return value


def _email(p: Params) -> str:
    """The required single `email`; malformed or comma-joined -> 11 Invalid email with the whole value."""
    email = (p.text("email") or "").strip()
    if not email:
        raise errors.required("email")
    if len(email) > 254 or not valid_email(email):
        raise errors.invalid_email(email)
    return email


def _teams(ctx: Ctx) -> dict[int, Team]:
    return {t.id: t for t in ctx.db.scalars(select(Team).where(Team.account_id == ctx.account_id))}


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
    users = ctx.db.scalars(select(User).where(User.account_id == ctx.account_id, User.is_active.is_(True))
                           .order_by(User.id))
    return render.ok_data([rm.full_user(ctx, u, teams) for u in users])


def _team_by_title(ctx: Ctx, title: str, *, create: bool, client: bool = False) -> Team:
    team = ctx.db.scalars(select(Team).where(Team.account_id == ctx.account_id, Team.title == title)).first()
    if team is None and create:
        team = Team(account_id=ctx.account_id, title=title, client=client)
        ctx.db.add(team)
        ctx.db.flush()
    if team is None:
        raise errors.invalid_value("Group is invalid", title)
    return team


@action("add_user", scope="users_write")
def add_user(ctx: Ctx, p: Params) -> dict[str, Any]:
    """Invite a user; an e-mail that is already a member returns that user unchanged."""
    access.require_write(ctx)
    email = _email(p).lower()
    existing = ctx.db.scalars(select(User).where(User.account_id == ctx.account_id,
                                                 User.email == email)).first()
    if existing is not None:
        return render.ok_data(rm.full_user(ctx, existing, _teams(ctx)))
    role = ROLE_ALIASES.get(_opt(p, "role").lower(), "user")
    if role in _ADMIN_GRANTED and not access.is_admin(ctx):
        raise errors.access_denied("role")
    first, last = names_from_email(email)
    group = _opt(p, "group")
    # An unknown team name creates that team, as the web UI's invite form does.
    team_id = _team_by_title(ctx, group, create=True).id if group else ctx.user.team_id
    user = User(id=new_user_id(ctx.db), account_id=ctx.account_id, email=email,
                first_name=_opt(p, "first_name") or first[:255], last_name=_opt(p, "last_name") or last[:255],
                title=_opt(p, "title"), department=_opt(p, "department"), team_id=team_id, role=role,
                rate=ctx.account.default_rate, created_at=ctx.now())
    ctx.db.add(user)
    ctx.db.flush()
    return render.ok_data(rm.full_user(ctx, user, _teams(ctx)))


@action("get_user_groups", scope="users_read")
def get_user_groups(ctx: Ctx, p: Params) -> dict[str, Any]:
    teams = ctx.db.scalars(select(Team).where(Team.account_id == ctx.account_id).order_by(Team.id))
    return render.ok_data([rm.team(t) for t in teams])


@action("add_user_group", scope="users_write")
def add_user_group(ctx: Ctx, p: Params) -> dict[str, Any]:
    """Create a team unless one has this title (then that one is returned)."""
    access.require_write(ctx)
    title = _req(p, "title")
    return render.ok_data(rm.team(_team_by_title(ctx, title, create=True, client=bool(p.flag("client")))))


def _folders(ctx: Ctx) -> dict[int, ContactFolder]:
    rows = ctx.db.scalars(select(ContactFolder).where(ContactFolder.account_id == ctx.account_id))
    return {f.id: f for f in rows}


@action("get_contacts", scope="contacts_read")
def get_contacts(ctx: Ctx, p: Params) -> dict[str, Any]:
    folders = _folders(ctx)
    rows = ctx.db.scalars(select(Contact).where(Contact.account_id == ctx.account_id).order_by(Contact.id))
    return render.ok_data([rm.contact(c, folders) for c in rows])


@action("add_contact", scope="contacts_write")
def add_contact(ctx: Ctx, p: Params) -> dict[str, Any]:
    """Create a contact (no invitation); `group` names a folder, created when new."""
    access.require_write(ctx)
    email = _email(p)
    name = _req(p, "name", limit=511)
    first, _, last = name.partition(" ")
    group = _opt(p, "group") or "DEFAULT"
    preset = group.upper() if group.upper() in rm.PRESET_CONTACT_FOLDERS else None
    folder_id = None if preset else _contact_folder(ctx, group).id
    c = Contact(account_id=ctx.account_id, email=email, first_name=first[:255], last_name=last.strip()[:255],
                title=_opt(p, "title"), preset_folder=preset, folder_id=folder_id, created_at=ctx.now(),
                **{k: _opt(p, k, limit) for k, limit in _CONTACT_FIELDS.items()})
    ctx.db.add(c)
    ctx.db.flush()
    return render.ok_data(rm.contact(c, _folders(ctx)))


def _contact_folder(ctx: Ctx, title: str) -> ContactFolder:
    folder = ctx.db.scalars(select(ContactFolder).where(ContactFolder.account_id == ctx.account_id,
                                                        ContactFolder.title == title)).first()
    if folder is None:
        folder = ContactFolder(account_id=ctx.account_id, title=title)
        ctx.db.add(folder)
        ctx.db.flush()
    return folder


@action("get_contact_groups", scope="contacts_read")
def get_contact_groups(ctx: Ctx, p: Params) -> dict[str, Any]:
    """The four preset folders (integer ids) followed by the account's own folders."""
    own = sorted(_folders(ctx).values(), key=lambda f: f.id)
    return render.ok_data(rm.preset_contact_folders() + [rm.contact_folder(f) for f in own])


@action("add_contact_group", scope="contacts_write")
def add_contact_group(ctx: Ctx, p: Params) -> dict[str, Any]:
    access.require_write(ctx)
    title = _req(p, "title")
    if title.upper() in rm.PRESET_CONTACT_FOLDERS:
        idx = rm.PRESET_CONTACT_FOLDERS.index(title.upper())
        return render.ok_data(rm.preset_contact_folders()[idx])
    return render.ok_data(rm.contact_folder(_contact_folder(ctx, title)))
