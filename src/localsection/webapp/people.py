"""`/people`: the account's users by team (client teams marked), contacts by folder; invite users with a role,
create teams, contact folders and contacts — through domain.members, so a person sees and may do here what
get_users / add_user / get_contacts ... let them do through the API.

A new user has no password: an e-mail with a one-time link to set one goes out (webapp/mail.py), and an admin
also sees the link once on the page to hand it over. Plain users may invite too (as the API lets them), but
only admins see such links: a link sets the invitee's password."""

from __future__ import annotations

from dataclasses import dataclass

from starlette.responses import Response

from localsection.domain import members
from localsection.domain.members import ROLE_ALIASES, NewContact, NewUser, Role
from localsection.formats import is_digits
from localsection.models import Contact, ContactFolder, Team, User
from localsection.webapp import mail, resets
from localsection.webapp.handlers import FormError, Page, redirect_after_post, webpage
from localsection.webapp.projects import N_, can_write, user_label

FIELD_MAX = 255
# Roles an invitation may give; the admin roles only when an owner or account admin invites.
INVITE_ROLES: tuple[Role, ...] = ("user", "reader", "guest", "team admin", "department admin", "account admin")
PRESET_TITLES = {"USERS": N_("Users of the account"), "DEFAULT": N_("General"),
                 "TEAM_ONLY": N_("Visible to my team"), "HIDDEN": N_("Hidden")}
DOMAIN_MESSAGES = (N_("Group is invalid"), N_("Invalid email"), N_("Field is required"), N_("Access denied"))


@dataclass(frozen=True)
class TeamGroup:
    team: Team | None
    users: list[User]


@dataclass(frozen=True)
class ContactGroup:
    title: str  # a folder's title, or a preset's label (translated in the template)
    preset: bool
    contacts: list[Contact]


def _text(page: Page, name: str, label: str, *, required: bool = False, limit: int = FIELD_MAX) -> str:
    value = page.form.get(name, "").strip()
    if required and not value:
        raise FormError("%(field)s is required.", field=page._(label))
    if len(value) > limit:
        raise FormError("%(field)s is too long.", field=page._(label))
    return value


def _teams(page: Page) -> list[TeamGroup]:
    teams = members.list_teams(page.ctx)
    by_team: dict[int | None, list[User]] = {}
    for user in members.list_users(page.ctx):
        by_team.setdefault(user.team_id if user.team_id in {t.id for t in teams} else None, []).append(user)
    ordered = sorted(teams, key=lambda t: (t.client, t.title.casefold()))
    groups = [TeamGroup(t, sorted(by_team.get(t.id, []), key=lambda u: user_label(u).casefold())) for t in ordered]
    if by_team.get(None):
        groups.append(TeamGroup(None, by_team[None]))
    return groups


def _contacts(page: Page) -> tuple[list[ContactGroup], list[ContactFolder]]:
    folders = members.list_contact_folders(page.ctx)
    by_folder: dict[str, list[Contact]] = {}
    for c in members.list_contacts(page.ctx):
        key = f"f{c.folder_id}" if c.folder_id else (c.preset_folder or "DEFAULT")
        by_folder.setdefault(key, []).append(c)
    groups = [ContactGroup(PRESET_TITLES[p], True, by_folder.get(p, [])) for p in members.PRESET_FOLDERS]
    groups += [ContactGroup(f.title, False, by_folder.get(f"f{f.id}", [])) for f in folders]
    return [g for g in groups if g.contacts or not g.preset or g.title == PRESET_TITLES["DEFAULT"]], folders


def _render(page: Page, invited: tuple[str, str] | None = None) -> Response:
    contact_groups, folders = _contacts(page)
    roles = [r for r in INVITE_ROLES if page.is_admin or r not in members.ADMIN_GRANTED]
    return page.render("people.html", teams=_teams(page), contact_groups=contact_groups, folders=folders,
                       presets=PRESET_TITLES, roles=roles, can_write=can_write(page), invited=invited,
                       user_label=user_label)


def _send_link(page: Page, user: User) -> str:
    """Issue a one-time link for `user` to set their password, mail it, and return it."""
    token = resets.issue(page.db, user)
    base = page.state.base_url(page.account.name, page.request.url.scheme, page.request.headers.get("host", ""),
                               page.root)
    link = f"{base}/password/reset/{token}"
    mail.send_password_reset(page.db, page.state.settings, page.account.name, user, link,
                             user.language or page.language)
    return link


def _add_user(page: Page) -> Response:
    role = ROLE_ALIASES.get(page.form.get("role", "user").strip().lower())
    if role is None:
        raise FormError("Choose one of the roles offered.")
    new = NewUser(email=_text(page, "email", "E-mail", required=True), role=role,
                  team=_text(page, "team", "Team"), first_name=_text(page, "first_name", "First name"),
                  last_name=_text(page, "last_name", "Last name"), title=_text(page, "title", "Job title"),
                  department=_text(page, "department", "Department"))
    existing = {u.email for u in members.list_users(page.ctx)}
    user = members.add_user(page.ctx, new=new)
    if user.email in existing:
        raise FormError("%(email)s is a user of this account already.", email=user.email)
    link = _send_link(page, user)
    if not page.is_admin:
        page.flash(page._("%(email)s was invited: an e-mail with a link to set a password is on its way.",
                          email=user.email))
        return redirect_after_post(page, "/people")
    return _render(page, invited=(user.email, link))


def _new_link(page: Page) -> Response:
    """An admin hands a user without a password a fresh one-time link."""
    raw = page.form.get("user", "")
    if not page.is_admin:
        raise FormError("Only administrators can do this.")
    user = next((u for u in members.list_users(page.ctx) if is_digits(raw) and len(raw) < 19 and u.id == int(raw)),
                None)
    if user is None or user.password_hash:
        raise FormError("That user has a password already.")
    return _render(page, invited=(user.email, _send_link(page, user)))


@webpage()
def people(page: Page) -> Response:
    if not page.is_post:
        return _render(page)
    action = page.form.get("action", "")
    if action == "user":
        return _add_user(page)
    if action == "link":
        return _new_link(page)
    if action == "team":
        team = members.add_team(page.ctx, title=_text(page, "title", "Name of the team", required=True),
                                client=bool(page.form.get("client")))
        page.flash(page._("Team “%(name)s” is ready.", name=team.title))
    elif action == "folder":
        folder = members.add_contact_folder(page.ctx, title=_text(page, "title", "Name of the folder",
                                                                  required=True))
        title = page._(PRESET_TITLES[folder]) if isinstance(folder, str) else folder.title
        page.flash(page._("Folder “%(name)s” is ready.", name=title))
    elif action == "contact":
        contact = members.add_contact(page.ctx, new=NewContact(
            email=_text(page, "email", "E-mail", required=True), name=_text(page, "name", "Name", required=True,
                                                                           limit=511),
            folder=_text(page, "folder", "Folder") or "DEFAULT", title=_text(page, "title", "Job title"),
            phone=_text(page, "phone", "Phone", limit=64), address=_text(page, "address", "Address")))
        page.flash(page._("Contact %(email)s added.", email=contact.email))
    else:
        raise FormError("Unknown action.")
    return redirect_after_post(page, "/people")
