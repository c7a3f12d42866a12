"""Projects pages: the list (folders, status filter, search, counts), create, edit, close / reopen, members.

Every read and write goes through domain.projects with the signed-in user's context, so what a person sees and
may change here is what get_projects / post_project / update_project ... allow them through the API. A project
the user may not see is a 404 (never "it exists"); one they may see but not change is a 403 page.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

from starlette.responses import Response

from localsection import access, tagging
from localsection.domain import UNSET, members, projects, tags
from localsection.domain.projects import ANYONE, Anyone, Counts, ProjectChanges
from localsection.errors import ApiError
from localsection.models import Project, Tag, TagGroup, User
from localsection.render import projects as rp
from localsection.webapp.handlers import FormError, Page, redirect_after_post, webpage

SEARCH_MAX = 200
STATUS_FILTERS = {"active": "active", "archive": "archive", "all": None}
TEXT_MAX = 100_000
ESTIMATE_MAX = Decimal("99999999999")


def N_(message: str) -> str:  # marks a msgid for extraction; translated when shown
    return message


# The options of a project, in the API's order, with what they mean (PROTOCOL.md post_project).
OPTION_LABELS = {
    "allow_close": N_("Executives may complete tasks"),
    "allow_give": N_("Executives may hand tasks over"),
    "allow_term": N_("Executives may change dates"),
    "allow_limit": N_("Executives may change estimates"),
    "require_term": N_("New tasks need dates"),
    "require_tag": N_("New tasks need a status or label"),
    "require_limit": N_("New tasks need estimates"),
    "require_hidden": N_("New tasks need their visibility set"),
    "deny_comments_edit": N_("Users may not edit or delete comments"),
    "deny_task_edit": N_("Users may not edit or delete tasks"),
    "deny_task_delete": N_("Users may not delete tasks"),
    "time_require": N_("A task can be completed only with time logged"),
    "time_today": N_("Time may be logged for today only"),
    "timer_only": N_("Time only from the timer"),
}
# Domain messages these forms can show (translated when shown).
DOMAIN_MESSAGES = (N_("Project is invalid"), N_("Field is required"), N_("Invalid email"), N_("Access denied"),
                   N_("Project is already closed"), N_("Project is already active"), N_("Invalid number"),
                   N_("Title is too long"), N_("Company is too long"), N_("Tag is invalid"),
                   N_("Only one parameter (options.time_require or options.time_today or options.timer_only) can "
                      "be set as 1."))
ROLE_NAMES = (N_("owner"), N_("account admin"), N_("team admin"), N_("department admin"), N_("user"), N_("guest"),
              N_("reader"))


# -- shared helpers ---------------------------------------------------------------------------------------

def can_write(page: Page) -> bool:
    """Guests and readers never change anything (access.require_write)."""
    return page.user is not None and page.user.role not in access.READ_ONLY_ROLES


def forbidden(page: Page) -> Response:
    return page.render("error.html", 403, title=page._("Not allowed"),
                       message=page._("Your role does not allow this. Ask an administrator of the account."))


def _path_id(page: Page, name: str = "pid") -> int:
    return int(page.request.path_params[name])


ID_MAX = 2**63 - 1  # larger ids in a URL exist nowhere (and would overflow a BIGINT parameter)


def project_for(page: Page, *, write: bool) -> Project | Response:
    """The project of the URL if the user may see it (and change it): else the 404 page (unknown, another
    account's or not visible) or the 403 page (visible but read-only for them)."""
    if _path_id(page) > ID_MAX:
        return page.not_found()
    try:
        row = projects.get_project(page.ctx, project_id=_path_id(page))  # a hidden project is a 404 first
        if write and page.is_post:
            return projects.check_writable_project(page.ctx, project_id=row.id)  # row-locked until commit
        if write:
            access.require_write(page.ctx)  # a form the user could not send: 403 already on GET
        return row
    except ApiError as exc:
        return forbidden(page) if exc.code == 20 else page.not_found()


def user_label(user: User) -> str:
    name = f"{user.first_name} {user.last_name}".strip()
    return f"{name} <{user.email}>" if name else user.email


@dataclass(frozen=True)
class Choice:
    """A user offered in a picker, with the role and team shown beside the name."""

    user: User
    team: str

    @property
    def label(self) -> str:
        return user_label(self.user)

    @property
    def read_only(self) -> bool:
        return self.user.role in access.READ_ONLY_ROLES


def user_choices(page: Page) -> list[Choice]:
    """The account's active users (what get_users lists), by team then name."""
    teams = members.teams_by_id(page.ctx)
    rows = [Choice(u, teams[u.team_id].title if u.team_id in teams else "") for u in members.list_users(page.ctx)]
    return sorted(rows, key=lambda c: (c.team.casefold(), c.label.casefold()))


def group_titles(page: Page) -> list[str]:
    """Project folders and teams a project can be placed in (the API's `company`)."""
    folders, teams = projects.list_project_groups(page.ctx)
    return list(dict.fromkeys([f.title for f in folders] + [t.title for t in teams]))


# -- the list -----------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Row:
    project: Project
    folder: str
    manager: User | None
    counts: Counts


@dataclass(frozen=True)
class Group:
    title: str
    rows: list[Row]


def _grouped(page: Page, rows: Sequence[Project]) -> list[Group]:
    """Projects by folder (or team), folders by title, projects by name; "no folder" last."""
    rel = rp.load_related(page.ctx, rows, set())
    counts = projects.list_counts(page.ctx, [r.id for r in rows])
    groups: dict[str, list[Row]] = {}
    for row in rows:
        folder = rp.company(row, rel)
        manager = rel.users.get(row.manager_id) if row.manager_id else None
        groups.setdefault(folder, []).append(Row(row, folder, manager, counts[row.id]))
    titles = sorted((t for t in groups if t), key=str.casefold) + ([""] if "" in groups else [])
    return [Group(t, sorted(groups[t], key=lambda r: (r.project.name.casefold(), r.project.id))) for t in titles]


@webpage()
def project_list(page: Page) -> Response:
    status = page.request.query_params.get("status", "active")
    if status not in STATUS_FILTERS:
        status = "active"
    query = page.request.query_params.get("q", "").strip()[:SEARCH_MAX]
    rows = projects.list_projects(page.ctx, status=STATUS_FILTERS[status])  # type: ignore[arg-type]
    if query:
        needle = query.casefold()
        rows = [r for r in rows if needle in r.name.casefold()]
    return page.render("projects_list.html", groups=_grouped(page, rows), status_filter=status, query=query,
                       total=len(rows), can_write=can_write(page))


# -- create and edit ------------------------------------------------------------------------------------------

def _date(page: Page, name: str, label: str) -> dt.date | None:
    raw = page.form.get(name, "").strip()
    if not raw:
        return None
    try:
        if len(raw) != 10:
            raise ValueError(raw[:20])
        return dt.date.fromisoformat(raw)
    except ValueError:
        raise FormError("%(field)s is not a date (YYYY-MM-DD).", field=page._(label)) from None


def _estimate(page: Page, name: str, label: str) -> Decimal | None:
    raw = page.form.get(name, "").strip().replace(",", ".")
    if not raw:
        return None
    try:
        value = Decimal(raw[:32])
    except InvalidOperation:
        raise FormError("%(field)s must be a number.", field=page._(label)) from None
    if not value.is_finite() or value < 0 or value > ESTIMATE_MAX:
        raise FormError("%(field)s must be a number.", field=page._(label)) from None
    return value.quantize(Decimal("0.01"))


def _executive(page: Page) -> str | Anyone | None:
    raw = page.form.get("executive", "").strip()
    if raw == "ANY":
        return ANYONE
    return raw or None


def _changes(page: Page, *, creating: bool) -> ProjectChanges:
    """The form as domain changes; every field of the form is given (blank clears), except members on edit."""
    title = page.form.get("title", "").strip()
    if not title:
        raise FormError("Give the project a name.")
    text = page.form.get("text", "")
    if len(text) > TEXT_MAX:
        raise FormError("The description is too long.")
    start, end = _date(page, "date_start", "Start date"), _date(page, "date_end", "End date")
    if start and end and end < start:
        raise FormError("The end date is before the start date.")
    picked = [v for k, v in page.form.items() if k.startswith("member-") and v][:1000]
    tag_ids = _picked_tags(page)
    return ProjectChanges(
        title=title, manager=page.form.get("manager", "").strip() or None, executive=_executive(page),
        options={key: 1 if page.form.get(f"option-{key}") else 0 for key in rp.OPTION_KEYS},
        members=picked if creating else UNSET, tags=tag_ids or UNSET,
        date_start=start, date_end=end,
        max_time=_estimate(page, "max_time", "Time estimate (hours)"),
        max_money=_estimate(page, "max_money", "Budget"),
        text=text, company=page.form.get("folder", "").strip()[:projects.GROUP_TITLE_MAX + 1])


def _picked_tags(page: Page) -> list[str]:
    return [v for k, v in page.form.items() if k.startswith("tag-") and v][:500]


def tag_choices(page: Page) -> list[tuple[TagGroup, list[Tag]]]:
    """The project tags the user can see, by group (statuses first), for the form's picker."""
    groups: dict[int, tuple[TagGroup, list[Tag]]] = {}
    for tag, group in tags.list_tags(page.ctx, applies_to="project"):
        groups.setdefault(group.id, (group, []))[1].append(tag)
    return list(groups.values())


def _form_values(project: Project | None, members_of: Sequence[int] = ()) -> dict[str, str]:
    """The form fields of an existing project (edit) or the defaults (new)."""
    if project is None:
        return {}
    values = {
        "title": project.name, "text": project.text or "",
        "date_start": project.date_start.isoformat() if project.date_start else "",
        "date_end": project.date_end.isoformat() if project.date_end else "",
        "max_time": str(project.max_time) if project.max_time is not None else "",
        "max_money": str(project.max_money) if project.max_money is not None else "",
        "executive": "ANY" if project.executive_any else "",
    }
    values.update({f"option-{k}": "1" for k, v in rp.options_map(project.options).items() if v})
    return values


def _render_form(page: Page, project: Project | None, values: dict[str, str]) -> Response:
    form = page.form if page.error else values
    return page.render("projects_form.html", project=project, values=form, choices=user_choices(page),
                       groups=group_titles(page), option_labels=OPTION_LABELS, tag_groups=tag_choices(page))


@webpage()
def project_new(page: Page) -> Response:
    if not can_write(page):
        return forbidden(page)
    if page.is_post:
        project = projects.create_project(page.ctx, changes=_changes(page, creating=True))
        page.flash(page._("Project “%(name)s” created.", name=project.name))
        return redirect_after_post(page, "/projects")
    assert page.user is not None
    return _render_form(page, None, {"manager": page.user.email, f"member-{page.user.id}": page.user.email})


@webpage()
def project_edit(page: Page) -> Response:
    found = project_for(page, write=True)
    if not isinstance(found, Project):
        return found
    if page.is_post:
        projects.do_update_project(page.ctx, project=found, changes=_changes(page, creating=False))
        visible = {str(t.id) for _, group_tags in tag_choices(page) for t in group_tags}
        dropped = [str(t.id) for t in tagging.current(page.ctx, "project", found.id) if str(t.id) in visible]
        if dropped and not _picked_tags(page):  # an empty set leaves tags alone in the domain: remove them
            tags.update_project_tags(page.ctx, project_id=found.id, minus=dropped)
        page.flash(page._("Project “%(name)s” saved.", name=found.name))
        return redirect_after_post(page, "/projects")
    values = _form_values(found)
    users = {c.user.id: c.user for c in user_choices(page)}
    if found.manager_id in users:
        values["manager"] = users[found.manager_id].email
    if found.executive_id in users:
        values["executive"] = users[found.executive_id].email
    rel = rp.load_related(page.ctx, [found], set())
    values["folder"] = rp.company(found, rel)
    values.update({f"tag-{tag_id}": tag_id for tag_id in rel.tags.get(found.id, {})})
    return _render_form(page, found, values)


def _state_change(page: Page, closing: bool) -> Response:
    found = project_for(page, write=True)
    if not isinstance(found, Project):
        return found
    if closing:
        projects.close_project(page.ctx, project_id=found.id)
        page.flash(page._("Project “%(name)s” archived.", name=found.name))
    else:
        projects.activate_project(page.ctx, project_id=found.id)
        page.flash(page._("Project “%(name)s” is active again.", name=found.name))
    return redirect_after_post(page, "/projects?status=" + ("archive" if closing else "active"))


@webpage()
def project_close(page: Page) -> Response:
    return _state_change(page, closing=True)


@webpage()
def project_reopen(page: Page) -> Response:
    return _state_change(page, closing=False)


# -- members -----------------------------------------------------------------------------------------------

@webpage()
def project_members(page: Page) -> Response:
    found = project_for(page, write=page.is_post)
    if not isinstance(found, Project):
        return found
    if page.is_post:
        action = page.form.get("action", "")
        if action == "add":
            emails = [v for k, v in page.form.items() if k.startswith("member-") and v][:1000]
            if not emails:
                raise FormError("Choose at least one person to add.")
            projects.add_project_members(page.ctx, project_id=found.id, emails=emails)
            page.flash(page.ngettext("%(num)d member added.", "%(num)d members added.", len(emails)))
        elif action == "remove":
            email = page.form.get("email", "").strip()
            projects.remove_project_members(page.ctx, project_id=found.id, emails=[email])
            page.flash(page._("%(email)s is no longer a member.", email=email[:254]))
        else:
            raise FormError("Unknown action.")
        return redirect_after_post(page, f"/project/{found.id}/members")
    rel = rp.load_related(page.ctx, [found], {"users"})
    member_ids = rel.members.get(found.id, [])
    choices = user_choices(page)
    current = [c for c in choices if c.user.id in member_ids]
    others = [c for c in choices if c.user.id not in member_ids]
    return page.render("projects_members.html", project=found, current=current, others=others,
                       manager_id=found.manager_id, can_write=can_write(page))
