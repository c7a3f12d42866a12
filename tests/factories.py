"""Plain functions that insert rows directly (fast set-up that does not depend on the action under test)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from localsection import clock
from localsection.models import Comment, Project, ProjectMember, Task
from tests.helpers import Api


def make_project(api: Api, name: str = "Project", *, members: list[int] | None = None,
                 status: str = "active", **fields: Any) -> int:
    with api.state.db.session() as s:
        p = Project(account_id=api.account_id, name=name, status=status, user_from_id=api.owner_id,
                    **{"options": {}, "date_added": clock.now(), **fields})
        s.add(p)
        s.flush()
        for uid in members or []:
            s.add(ProjectMember(project_id=p.id, user_id=uid))
        return p.id


def make_task(api: Api, project_id: int, name: str = "Task", *, parent_id: int | None = None,
              status: str = "active", date_added: dt.datetime | None = None, **fields: Any) -> int:
    with api.state.db.session() as s:
        top_id = None
        depth = 0
        if parent_id is not None:
            parent = s.get(Task, parent_id)
            assert parent is not None
            top_id = parent.top_id or parent.id
            depth = parent.depth + 1
        t = Task(account_id=api.account_id, project_id=project_id, parent_id=parent_id, top_id=top_id,
                 depth=depth, name=name, name_folded=name.casefold(), status=status,
                 date_added=date_added or clock.now(),
                 **{"user_from_id": api.owner_id, "todo": [], "mentions": [], **fields})
        s.add(t)
        s.flush()
        return t.id


def make_comment(api: Api, task_id: int, text: str = "Comment", **fields: Any) -> int:
    with api.state.db.session() as s:
        c = Comment(account_id=api.account_id, task_id=task_id, text=text,
                    **{"user_from_id": api.owner_id, "date_added": clock.now(), "todo": [], "mentions": [],
                       **fields})
        s.add(c)
        s.flush()
        return c.id
