"""Users, teams (user groups), contacts and contact folders (PROTOCOL.md §4.1)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from sqlalchemy import select

from localsection import access, errors
from localsection.accounts import names_from_email, valid_email
from localsection.ctx import Ctx
from localsection.models import Contact, ContactFolder, Team, User, new_user_id

Role = Literal["user", "guest", "reader", "account admin", "team admin", "department admin"]
# The words the protocol (and the CLI) accept for each role.
ROLE_ALIASES: dict[str, Role] = {
    "user": "user", "guest": "guest", "reader": "reader",
    "admin": "account admin", "account admin": "account admin",
    "manager": "team admin", "team admin": "team admin", "department admin": "department admin",
}
PresetFolder = Literal["USERS", "DEFAULT", "TEAM_ONLY", "HIDDEN"]
PRESET_FOLDERS: tuple[PresetFolder, ...] = ("USERS", "DEFAULT", "TEAM_ONLY", "HIDDEN")

# Roles only an owner or account admin may hand out.
ADMIN_GRANTED = frozenset({"account admin", "team admin", "department admin"})
EMAIL_MAX = 254


def _check_email(email: str) -> str:
    """A single well-formed e-mail, trimmed; blank is 10, malformed or comma-joined 11 with the whole value."""
    value = email.strip()
    if not value:
        raise errors.required("email")
    if len(value) > EMAIL_MAX or not valid_email(value):
        raise errors.invalid_email(value)
    return value


# -- users and teams ----------------------------------------------------------------------------------

def teams_by_id(ctx: Ctx) -> dict[int, Team]:
    """Every team of the account, by id."""
    return {t.id: t for t in ctx.db.scalars(select(Team).where(Team.account_id == ctx.account_id))}


def list_users(ctx: Ctx) -> list[User]:
    """The account's active users, oldest first."""
    return list(ctx.db.scalars(select(User).where(User.account_id == ctx.account_id, User.is_active.is_(True))
                               .order_by(User.id)))


def list_teams(ctx: Ctx) -> list[Team]:
    return list(ctx.db.scalars(select(Team).where(Team.account_id == ctx.account_id).order_by(Team.id)))


def _team_by_title(ctx: Ctx, title: str, *, create: bool, client: bool = False) -> Team:
    team = ctx.db.scalars(select(Team).where(Team.account_id == ctx.account_id, Team.title == title)).first()
    if team is None and create:
        team = Team(account_id=ctx.account_id, title=title, client=client)
        ctx.db.add(team)
        ctx.db.flush()
    if team is None:
        raise errors.group_invalid(title)
    return team


@dataclass(frozen=True)
class NewUser:
    """An invitation: blank names are taken from the e-mail; a blank team is the inviter's team."""

    email: str
    role: Role = "user"
    team: str = ""  # a team title; an unknown title creates that team (as the web UI's invite form does)
    first_name: str = ""
    last_name: str = ""
    title: str = ""
    department: str = ""


def add_user(ctx: Ctx, *, new: NewUser) -> User:
    """Invite a user; an e-mail that is already a user of the account returns that user unchanged.

    Guests and readers may not invite (20); only admins hand out the admin roles (20 `role`).
    """
    access.require_write(ctx)
    email = _check_email(new.email).lower()
    existing = ctx.db.scalars(select(User).where(User.account_id == ctx.account_id, User.email == email)).first()
    if existing is not None:
        return existing
    if new.role in ADMIN_GRANTED and not access.is_admin(ctx):
        raise errors.access_denied("role")
    first, last = names_from_email(email)
    team_id = _team_by_title(ctx, new.team, create=True).id if new.team else ctx.user.team_id
    user = User(id=new_user_id(ctx.db), account_id=ctx.account_id, email=email,
                first_name=new.first_name or first[:255], last_name=new.last_name or last[:255],
                title=new.title, department=new.department, team_id=team_id, role=new.role,
                rate=ctx.account.default_rate, created_at=ctx.now())
    ctx.db.add(user)
    ctx.db.flush()
    return user


def add_team(ctx: Ctx, *, title: str, client: bool = False) -> Team:
    """Create a team unless one has this title (then that one is returned as it is)."""
    access.require_write(ctx)
    if not title.strip():
        raise errors.required("title")
    return _team_by_title(ctx, title, create=True, client=client)


# -- contacts ------------------------------------------------------------------------------------------

def contact_folders_by_id(ctx: Ctx) -> dict[int, ContactFolder]:
    """The account's own contact folders (not the presets), by id."""
    rows = ctx.db.scalars(select(ContactFolder).where(ContactFolder.account_id == ctx.account_id))
    return {f.id: f for f in rows}


def list_contacts(ctx: Ctx) -> list[Contact]:
    return list(ctx.db.scalars(select(Contact).where(Contact.account_id == ctx.account_id).order_by(Contact.id)))


def list_contact_folders(ctx: Ctx) -> list[ContactFolder]:
    """The account's own folders by id (the four presets come before them in every listing)."""
    return sorted(contact_folders_by_id(ctx).values(), key=lambda f: f.id)


@dataclass(frozen=True)
class NewContact:
    """A contact: `name` is split at its first space; `folder` is a preset name or a folder title."""

    email: str
    name: str
    folder: str = "DEFAULT"
    title: str = ""
    phone: str = ""
    phone2: str = ""
    phone3: str = ""
    phone4: str = ""
    address: str = ""
    address2: str = ""


def _preset(title: str) -> PresetFolder | None:
    return next((f for f in PRESET_FOLDERS if f == title.upper()), None)


def _contact_folder(ctx: Ctx, title: str) -> ContactFolder:
    folder = ctx.db.scalars(select(ContactFolder).where(ContactFolder.account_id == ctx.account_id,
                                                        ContactFolder.title == title)).first()
    if folder is None:
        folder = ContactFolder(account_id=ctx.account_id, title=title)
        ctx.db.add(folder)
        ctx.db.flush()
    return folder


def add_contact(ctx: Ctx, *, new: NewContact) -> Contact:
    """Create a contact (no invitation); a folder title that does not exist yet is created."""
    access.require_write(ctx)
    email = _check_email(new.email)
    if not new.name.strip():
        raise errors.required("name")
    first, _, last = new.name.partition(" ")
    group = new.folder or "DEFAULT"
    preset = _preset(group)
    folder_id = None if preset else _contact_folder(ctx, group).id
    c = Contact(account_id=ctx.account_id, email=email, first_name=first[:255], last_name=last.strip()[:255],
                title=new.title, preset_folder=preset, folder_id=folder_id, created_at=ctx.now(),
                phone=new.phone, phone2=new.phone2, phone3=new.phone3, phone4=new.phone4,
                address=new.address, address2=new.address2)
    ctx.db.add(c)
    ctx.db.flush()
    return c


def add_contact_folder(ctx: Ctx, *, title: str) -> ContactFolder | PresetFolder:
    """A contact folder by title, created when new; a preset's name (any case) returns that preset."""
    access.require_write(ctx)
    if not title.strip():
        raise errors.required("title")
    preset = _preset(title)
    if preset is not None:
        return preset
    return _contact_folder(ctx, title)
