"""SQLAlchemy 2.0 tables. Every row carries account_id so one account never sees another's."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    Numeric,
    String,
    Text,
    UniqueConstraint,
    func,
    select,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column

# SQLite only auto-increments INTEGER PRIMARY KEY; PostgreSQL gets BIGINT identities.
BigId = BigInteger().with_variant(Integer(), "sqlite")


class Base(DeclarativeBase):
    type_annotation_map = {dict[str, Any]: JSON, list[Any]: JSON}


def _pk() -> Mapped[int]:
    return mapped_column(BigId, primary_key=True, autoincrement=True)


def _account() -> Mapped[int]:
    return mapped_column(BigId, ForeignKey("accounts.id", ondelete="CASCADE"), index=True)


class Account(Base):
    __tablename__ = "accounts"
    id: Mapped[int] = _pk()
    name: Mapped[str] = mapped_column(String(63), unique=True)
    api_key: Mapped[str] = mapped_column(String(64))
    owner_id: Mapped[int | None] = mapped_column(BigId, nullable=True)
    is_default: Mapped[bool] = mapped_column(Boolean, default=False)
    timezone: Mapped[str] = mapped_column(String(64), default="UTC")
    default_rate: Mapped[Decimal] = mapped_column(Numeric(14, 2), default=Decimal("0"))
    created_at: Mapped[dt.datetime] = mapped_column(DateTime)


class Team(Base):
    """A user team ("company" in the API); client=True marks an external client team."""

    __tablename__ = "teams"
    __table_args__ = (UniqueConstraint("account_id", "title"),)
    id: Mapped[int] = _pk()
    account_id: Mapped[int] = _account()
    title: Mapped[str] = mapped_column(String(255))
    client: Mapped[bool] = mapped_column(Boolean, default=False)


class User(Base):
    __tablename__ = "users"
    __table_args__ = (UniqueConstraint("account_id", "email"),)
    id: Mapped[int] = _pk()
    account_id: Mapped[int] = _account()
    email: Mapped[str] = mapped_column(String(255))
    first_name: Mapped[str] = mapped_column(String(255), default="")
    last_name: Mapped[str] = mapped_column(String(255), default="")
    title: Mapped[str] = mapped_column(String(255), default="")
    department: Mapped[str] = mapped_column(String(255), default="")
    team_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("teams.id"), nullable=True)
    role: Mapped[str] = mapped_column(String(32), default="user")
    rate: Mapped[Decimal] = mapped_column(Numeric(14, 2), default=Decimal("0"))
    password_hash: Mapped[str | None] = mapped_column(String(255), nullable=True)
    phone: Mapped[str] = mapped_column(String(64), default="")
    phone2: Mapped[str] = mapped_column(String(64), default="")
    phone3: Mapped[str] = mapped_column(String(64), default="")
    phone4: Mapped[str] = mapped_column(String(64), default="")
    address: Mapped[str] = mapped_column(String(255), default="")
    address2: Mapped[str] = mapped_column(String(255), default="")
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime)
    language: Mapped[str | None] = mapped_column(String(16), nullable=True)  # web app language; None = browser's


# Ids 0, 1 and 2 belong to the pseudo users (manager NOONE, executive NOONE, ANY; PROTOCOL.md §3.3), so real users
# start well above them, as on the real service: at FIRST_USER_ID. PostgreSQL's users sequence starts there
# (migration 0002); SQLite hands out max(id) + 1, which new_user_id() lifts to FIRST_USER_ID in an empty table.
FIRST_USER_ID = 1001


def new_user_id(db: Session) -> int | None:
    """The id to give a user about to be inserted, or None to let the database's sequence choose (PostgreSQL).

    On SQLite this is what it would choose itself (max(id) + 1, the writer holding the database lock), except
    that it is never below FIRST_USER_ID. Every place that creates users (account owners, add_user) calls it.
    """
    bind = db.get_bind()
    if bind.dialect.name != "sqlite":
        return None
    top = db.scalar(select(func.max(User.id)))
    return max(top or 0, FIRST_USER_ID - 1) + 1


class ContactFolder(Base):
    __tablename__ = "contact_folders"
    __table_args__ = (UniqueConstraint("account_id", "title"),)
    id: Mapped[int] = _pk()
    account_id: Mapped[int] = _account()
    title: Mapped[str] = mapped_column(String(255))


class Contact(Base):
    __tablename__ = "contacts"
    id: Mapped[int] = _pk()
    account_id: Mapped[int] = _account()
    email: Mapped[str] = mapped_column(String(255), index=True)
    first_name: Mapped[str] = mapped_column(String(255), default="")
    last_name: Mapped[str] = mapped_column(String(255), default="")
    title: Mapped[str] = mapped_column(String(255), default="")
    preset_folder: Mapped[str | None] = mapped_column(String(16), nullable=True)  # USERS/DEFAULT/...
    folder_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("contact_folders.id"), nullable=True)
    phone: Mapped[str] = mapped_column(String(64), default="")
    phone2: Mapped[str] = mapped_column(String(64), default="")
    phone3: Mapped[str] = mapped_column(String(64), default="")
    phone4: Mapped[str] = mapped_column(String(64), default="")
    address: Mapped[str] = mapped_column(String(255), default="")
    address2: Mapped[str] = mapped_column(String(255), default="")
    created_at: Mapped[dt.datetime] = mapped_column(DateTime)


class ProjectFolder(Base):
    __tablename__ = "project_folders"
    __table_args__ = (UniqueConstraint("account_id", "title"),)
    id: Mapped[int] = _pk()
    account_id: Mapped[int] = _account()
    title: Mapped[str] = mapped_column(String(255))


class Project(Base):
    __tablename__ = "projects"
    __table_args__ = (Index("ix_projects_account_status", "account_id", "status"),)
    id: Mapped[int] = _pk()
    account_id: Mapped[int] = _account()
    name: Mapped[str] = mapped_column(String(500))
    text: Mapped[str] = mapped_column(Text, default="")
    status: Mapped[str] = mapped_column(String(16), default="active")  # active | pending | archive
    user_from_id: Mapped[int] = mapped_column(BigId, ForeignKey("users.id"))
    manager_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("users.id"), nullable=True)
    # Default executive of new tasks: a user id, or the pseudo users ANY / NOONE (None = NOONE).
    executive_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("users.id"), nullable=True)
    executive_any: Mapped[bool] = mapped_column(Boolean, default=False)
    folder_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("project_folders.id"), nullable=True)
    team_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("teams.id"), nullable=True)
    options: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    date_added: Mapped[dt.datetime] = mapped_column(DateTime)
    date_start: Mapped[dt.date | None] = mapped_column(Date, nullable=True)
    date_end: Mapped[dt.date | None] = mapped_column(Date, nullable=True)
    date_closed: Mapped[dt.datetime | None] = mapped_column(DateTime, nullable=True)
    max_time: Mapped[Decimal | None] = mapped_column(Numeric(14, 2), nullable=True)
    max_money: Mapped[Decimal | None] = mapped_column(Numeric(16, 2), nullable=True)


class ProjectMember(Base):
    __tablename__ = "project_members"
    project_id: Mapped[int] = mapped_column(BigId, ForeignKey("projects.id", ondelete="CASCADE"),
                                            primary_key=True)
    user_id: Mapped[int] = mapped_column(BigId, ForeignKey("users.id", ondelete="CASCADE"),
                                         primary_key=True, index=True)


class Task(Base):
    __tablename__ = "tasks"
    __table_args__ = (
        Index("ix_tasks_project_parent", "project_id", "parent_id"),
        Index("ix_tasks_account_parent", "account_id", "parent_id"),
        Index("ix_tasks_parent", "parent_id"),  # FK checks on delete and child lookups by parent
        Index("ix_tasks_user_from", "account_id", "user_from_id"),
        Index("ix_tasks_user_to", "account_id", "user_to_id"),
        Index("ix_tasks_date_added", "account_id", "date_added"),
        Index("ix_tasks_date_start", "account_id", "date_start"),
        Index("ix_tasks_date_end", "account_id", "date_end"),
        Index("ix_tasks_date_closed", "account_id", "date_closed"),
    )
    id: Mapped[int] = _pk()
    account_id: Mapped[int] = _account()
    project_id: Mapped[int] = mapped_column(BigId, ForeignKey("projects.id"))
    parent_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("tasks.id"), nullable=True)
    top_id: Mapped[int | None] = mapped_column(BigId, nullable=True)  # top-level ancestor (None = itself)
    depth: Mapped[int] = mapped_column(Integer, default=0)  # 0 task, 1 subtask, 2 sub-subtask
    name: Mapped[str] = mapped_column(String(500))
    name_folded: Mapped[str] = mapped_column(String(500), default="")  # casefolded name for search
    text: Mapped[str] = mapped_column(Text, default="")
    todo: Mapped[list[Any]] = mapped_column(JSON, default=list)
    mentions: Mapped[list[Any]] = mapped_column(JSON, default=list)  # user ids
    status: Mapped[str] = mapped_column(String(8), default="active")
    priority: Mapped[int] = mapped_column(Integer, default=1)
    user_from_id: Mapped[int] = mapped_column(BigId, ForeignKey("users.id"))
    user_to_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("users.id"), nullable=True)
    user_to_any: Mapped[bool] = mapped_column(Boolean, default=False)
    hidden: Mapped[bool] = mapped_column(Boolean, default=False)
    publish_at: Mapped[dt.datetime | None] = mapped_column(DateTime, nullable=True)  # delayed publication
    date_added: Mapped[dt.datetime] = mapped_column(DateTime)
    date_start: Mapped[dt.date | None] = mapped_column(Date, nullable=True)
    date_end: Mapped[dt.date | None] = mapped_column(Date, nullable=True)
    time_start: Mapped[str | None] = mapped_column(String(5), nullable=True)
    time_end: Mapped[str | None] = mapped_column(String(5), nullable=True)
    date_closed: Mapped[dt.datetime | None] = mapped_column(DateTime, nullable=True)
    max_time: Mapped[Decimal | None] = mapped_column(Numeric(14, 2), nullable=True)
    max_money: Mapped[Decimal | None] = mapped_column(Numeric(16, 2), nullable=True)


class TaskVisibility(Base):
    """For a hidden task: the users who may see it."""

    __tablename__ = "task_visibility"
    task_id: Mapped[int] = mapped_column(BigId, ForeignKey("tasks.id", ondelete="CASCADE"), primary_key=True)
    user_id: Mapped[int] = mapped_column(BigId, ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)


class TaskSubscriber(Base):
    __tablename__ = "task_subscribers"
    task_id: Mapped[int] = mapped_column(BigId, ForeignKey("tasks.id", ondelete="CASCADE"), primary_key=True)
    user_id: Mapped[int] = mapped_column(BigId, ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)


class TaskRelation(Base):
    """A dependency: from_task must finish (or start) before to_task."""

    __tablename__ = "task_relations"
    from_task_id: Mapped[int] = mapped_column(BigId, ForeignKey("tasks.id", ondelete="CASCADE"),
                                              primary_key=True)
    to_task_id: Mapped[int] = mapped_column(BigId, ForeignKey("tasks.id", ondelete="CASCADE"),
                                            primary_key=True, index=True)
    type: Mapped[str] = mapped_column(String(32), default="finish-to-start")


class Comment(Base):
    __tablename__ = "comments"
    __table_args__ = (Index("ix_comments_task_date", "task_id", "id"),)
    id: Mapped[int] = _pk()
    account_id: Mapped[int] = _account()
    task_id: Mapped[int] = mapped_column(BigId, ForeignKey("tasks.id"))
    text: Mapped[str] = mapped_column(Text, default="")
    todo: Mapped[list[Any]] = mapped_column(JSON, default=list)
    mentions: Mapped[list[Any]] = mapped_column(JSON, default=list)
    user_from_id: Mapped[int] = mapped_column(BigId, ForeignKey("users.id"))
    hidden: Mapped[bool] = mapped_column(Boolean, default=False)  # visible only to listed users
    internal: Mapped[bool] = mapped_column(Boolean, default=False)  # hidden from client teams
    date_added: Mapped[dt.datetime] = mapped_column(DateTime)


class CommentVisibility(Base):
    __tablename__ = "comment_visibility"
    comment_id: Mapped[int] = mapped_column(BigId, ForeignKey("comments.id", ondelete="CASCADE"),
                                            primary_key=True)
    user_id: Mapped[int] = mapped_column(BigId, ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)


class TagGroup(Base):
    __tablename__ = "tag_groups"
    __table_args__ = (UniqueConstraint("account_id", "applies_to", "title"),)
    id: Mapped[int] = _pk()
    account_id: Mapped[int] = _account()
    applies_to: Mapped[str] = mapped_column(String(8))  # task | project
    title: Mapped[str] = mapped_column(String(255))
    type: Mapped[str] = mapped_column(String(8), default="label")  # status | label | "" (project groups)
    access: Mapped[str] = mapped_column(String(8), default="public")  # public | private


class Tag(Base):
    __tablename__ = "tags"
    __table_args__ = (UniqueConstraint("group_id", "title"),)
    id: Mapped[int] = _pk()
    account_id: Mapped[int] = _account()
    group_id: Mapped[int] = mapped_column(BigId, ForeignKey("tag_groups.id", ondelete="CASCADE"), index=True)
    title: Mapped[str] = mapped_column(String(255))


class TaskTag(Base):
    __tablename__ = "task_tags"
    task_id: Mapped[int] = mapped_column(BigId, ForeignKey("tasks.id", ondelete="CASCADE"), primary_key=True)
    tag_id: Mapped[int] = mapped_column(BigId, ForeignKey("tags.id", ondelete="CASCADE"), primary_key=True,
                                        index=True)


class ProjectTag(Base):
    __tablename__ = "project_tags"
    project_id: Mapped[int] = mapped_column(BigId, ForeignKey("projects.id", ondelete="CASCADE"),
                                            primary_key=True)
    tag_id: Mapped[int] = mapped_column(BigId, ForeignKey("tags.id", ondelete="CASCADE"), primary_key=True,
                                        index=True)


class Cost(Base):
    """A time/money entry. Time in whole minutes, money in integer cents: exact sums."""

    __tablename__ = "costs"
    __table_args__ = (
        Index("ix_costs_account_date", "account_id", "date"),
        Index("ix_costs_project_date", "project_id", "date"),
        Index("ix_costs_task", "task_id"),
        Index("ix_costs_user", "account_id", "user_id"),
    )
    id: Mapped[int] = _pk()
    account_id: Mapped[int] = _account()
    project_id: Mapped[int] = mapped_column(BigId, ForeignKey("projects.id"))
    task_id: Mapped[int] = mapped_column(BigId, ForeignKey("tasks.id"))
    top_task_id: Mapped[int] = mapped_column(BigId)
    user_id: Mapped[int] = mapped_column(BigId, ForeignKey("users.id"))
    minutes: Mapped[int] = mapped_column(Integer, default=0)
    money_cents: Mapped[int] = mapped_column(BigInteger, default=0)
    comment: Mapped[str] = mapped_column(Text, default="")
    comment_folded: Mapped[str] = mapped_column(Text, default="")  # casefolded comment for the `has` filter
    date: Mapped[dt.date] = mapped_column(Date)
    is_timer: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime)


class Timer(Base):
    __tablename__ = "timers"
    id: Mapped[int] = _pk()
    account_id: Mapped[int] = _account()
    user_id: Mapped[int] = mapped_column(BigId, ForeignKey("users.id", ondelete="CASCADE"), unique=True)
    task_id: Mapped[int] = mapped_column(BigId, ForeignKey("tasks.id"))
    started_at: Mapped[dt.datetime] = mapped_column(DateTime)


class CustomField(Base):
    __tablename__ = "custom_fields"
    id: Mapped[int] = _pk()
    account_id: Mapped[int] = _account()
    applies_to: Mapped[str] = mapped_column(String(8))  # task | project
    name: Mapped[str] = mapped_column(String(255))
    type: Mapped[str] = mapped_column(String(16))
    descr: Mapped[str] = mapped_column(Text, default="")
    options: Mapped[list[Any]] = mapped_column(JSON, default=list)


class CustomFieldValue(Base):
    __tablename__ = "custom_field_values"
    field_id: Mapped[int] = mapped_column(BigId, ForeignKey("custom_fields.id", ondelete="CASCADE"),
                                          primary_key=True)
    object_id: Mapped[int] = mapped_column(BigId, primary_key=True, index=True)
    value: Mapped[Any] = mapped_column(JSON)


class ScheduleDay(Base):
    __tablename__ = "schedule_days"
    __table_args__ = (UniqueConstraint("user_id", "day"), Index("ix_schedule_account_day", "account_id", "day"))
    id: Mapped[int] = _pk()
    account_id: Mapped[int] = _account()
    user_id: Mapped[int] = mapped_column(BigId, ForeignKey("users.id", ondelete="CASCADE"))
    day: Mapped[dt.date] = mapped_column(Date)
    kind: Mapped[str] = mapped_column(String(16))  # vacation | sick-leave | workday


class StoredFile(Base):
    """An attachment or a pending upload; bytes live content-addressed under the data directory."""

    __tablename__ = "files"
    __table_args__ = (Index("ix_files_project", "project_id"), Index("ix_files_task", "task_id"),
                      Index("ix_files_comment", "comment_id"))
    id: Mapped[int] = _pk()
    account_id: Mapped[int] = _account()
    sha256: Mapped[str] = mapped_column(String(64))
    size: Mapped[int] = mapped_column(BigInteger)
    name: Mapped[str] = mapped_column(String(255))
    project_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("projects.id"), nullable=True)
    task_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("tasks.id"), nullable=True)
    comment_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("comments.id"), nullable=True)
    user_from_id: Mapped[int] = mapped_column(BigId, ForeignKey("users.id"))
    upload_token: Mapped[str | None] = mapped_column(String(64), nullable=True, unique=True)
    upload_expires: Mapped[dt.datetime | None] = mapped_column(DateTime, nullable=True)
    date_added: Mapped[dt.datetime] = mapped_column(DateTime)


class Event(Base):
    __tablename__ = "events"
    __table_args__ = (Index("ix_events_account_date", "account_id", "date_added"),
                      Index("ix_events_project_date", "project_id", "date_added"),
                      Index("ix_events_project_page_date", "project_id", "page", "date_added"))
    id: Mapped[int] = _pk()
    account_id: Mapped[int] = _account()
    project_id: Mapped[int | None] = mapped_column(BigId, nullable=True)
    action: Mapped[str] = mapped_column(String(8))  # post | update | close | reopen | delete
    object_type: Mapped[str] = mapped_column(String(8))  # project | task | comment
    object_id: Mapped[int] = mapped_column(BigId)
    page: Mapped[str] = mapped_column(String(255))
    user_id: Mapped[int] = mapped_column(BigId)
    new: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    old: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    date_added: Mapped[dt.datetime] = mapped_column(DateTime)


class Webhook(Base):
    __tablename__ = "webhooks"
    id: Mapped[int] = _pk()
    account_id: Mapped[int] = _account()
    url: Mapped[str] = mapped_column(Text)
    events: Mapped[str] = mapped_column(Text)
    projects: Mapped[str] = mapped_column(Text, default="")
    http_user: Mapped[str] = mapped_column(String(255), default="")
    http_pass: Mapped[str] = mapped_column(String(255), default="")
    status: Mapped[str] = mapped_column(String(8), default="active")  # active | paused
    consecutive_failures: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime)
    # The token user who added it: payloads only carry what they may see. NULL = the admin key (everything).
    user_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("users.id"), nullable=True, index=True)


class OutboxItem(Base):
    """One event waiting for (or done with) delivery to one webhook."""

    __tablename__ = "webhook_outbox"
    __table_args__ = (Index("ix_outbox_pending", "state", "next_attempt_at"),
                      Index("ix_outbox_webhook", "webhook_id", "id"))
    id: Mapped[int] = _pk()
    webhook_id: Mapped[int] = mapped_column(BigId, ForeignKey("webhooks.id", ondelete="CASCADE"))
    event_id: Mapped[int] = mapped_column(BigId, ForeignKey("events.id", ondelete="CASCADE"))
    state: Mapped[str] = mapped_column(String(12), default="pending")  # pending | delivered | expired
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[dt.datetime] = mapped_column(DateTime)
    locked_until: Mapped[dt.datetime | None] = mapped_column(DateTime, nullable=True)
    delivered_at: Mapped[dt.datetime | None] = mapped_column(DateTime, nullable=True)


class DeliveryAttempt(Base):
    __tablename__ = "webhook_deliveries"
    __table_args__ = (Index("ix_deliveries_webhook", "webhook_id", "id"),)
    id: Mapped[int] = _pk()
    webhook_id: Mapped[int] = mapped_column(BigId, ForeignKey("webhooks.id", ondelete="CASCADE"))
    outbox_id: Mapped[int] = mapped_column(BigId)
    attempted_at: Mapped[dt.datetime] = mapped_column(DateTime)
    ok: Mapped[bool] = mapped_column(Boolean)
    response_code: Mapped[int | None] = mapped_column(Integer, nullable=True)
    error: Mapped[str] = mapped_column(Text, default="")
    latency_ms: Mapped[int] = mapped_column(Integer, default=0)
    events: Mapped[str] = mapped_column(String(255), default="", server_default="")  # event names, comma list
    payload: Mapped[str | None] = mapped_column(Text, nullable=True)  # the JSON array sent (emulator only)


class OAuthApp(Base):
    __tablename__ = "oauth_apps"
    id: Mapped[int] = _pk()
    account_id: Mapped[int] = _account()
    client_id: Mapped[str] = mapped_column(String(32), unique=True)
    secret_hash: Mapped[str] = mapped_column(String(255))
    name: Mapped[str] = mapped_column(String(255))
    redirect_uris: Mapped[list[Any]] = mapped_column(JSON, default=list)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime)
    scopes: Mapped[list[Any] | None] = mapped_column(JSON, nullable=True)  # what it may ask for; None = every scope


class OAuthCode(Base):
    __tablename__ = "oauth_codes"
    id: Mapped[int] = _pk()
    code_hash: Mapped[str] = mapped_column(String(64), unique=True)
    app_id: Mapped[int] = mapped_column(BigId, ForeignKey("oauth_apps.id", ondelete="CASCADE"))
    user_id: Mapped[int] = mapped_column(BigId, ForeignKey("users.id", ondelete="CASCADE"))
    scopes: Mapped[list[Any]] = mapped_column(JSON, default=list)
    redirect_uri: Mapped[str] = mapped_column(Text)
    code_challenge: Mapped[str] = mapped_column(String(128), default="")
    expires_at: Mapped[dt.datetime] = mapped_column(DateTime)
    used_at: Mapped[dt.datetime | None] = mapped_column(DateTime, nullable=True)


class OAuthRefreshToken(Base):
    __tablename__ = "oauth_refresh_tokens"
    id: Mapped[int] = _pk()
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    family: Mapped[str] = mapped_column(String(32), index=True)
    code_id: Mapped[int | None] = mapped_column(BigId, nullable=True, index=True)
    app_id: Mapped[int] = mapped_column(BigId, ForeignKey("oauth_apps.id", ondelete="CASCADE"))
    user_id: Mapped[int] = mapped_column(BigId, ForeignKey("users.id", ondelete="CASCADE"))
    scopes: Mapped[list[Any]] = mapped_column(JSON, default=list)
    access_jti: Mapped[str] = mapped_column(String(100), default="")
    expires_at: Mapped[dt.datetime] = mapped_column(DateTime)
    rotated_at: Mapped[dt.datetime | None] = mapped_column(DateTime, nullable=True)
    revoked: Mapped[bool] = mapped_column(Boolean, default=False)


class RevokedToken(Base):
    """Access-token ids (jti) revoked before their expiry."""

    __tablename__ = "oauth_revoked"
    jti: Mapped[str] = mapped_column(String(100), primary_key=True)
    expires_at: Mapped[dt.datetime] = mapped_column(DateTime)


class WebSession(Base):
    """A signed-in web app session. Only the SHA-256 of the cookie's random token is stored."""

    __tablename__ = "web_sessions"
    id: Mapped[int] = _pk()
    account_id: Mapped[int] = _account()
    user_id: Mapped[int] = mapped_column(BigId, ForeignKey("users.id", ondelete="CASCADE"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime)
    last_seen_at: Mapped[dt.datetime] = mapped_column(DateTime)
    expires_at: Mapped[dt.datetime] = mapped_column(DateTime, index=True)  # absolute end of the session
    user_agent: Mapped[str] = mapped_column(String(255), default="")
    client_address: Mapped[str] = mapped_column(String(64), default="")


class PasswordReset(Base):
    """A one-time password reset link (the SHA-256 of its token), valid until `expires_at`, spent at `used_at`."""

    __tablename__ = "password_resets"
    id: Mapped[int] = _pk()
    account_id: Mapped[int] = _account()
    user_id: Mapped[int] = mapped_column(BigId, ForeignKey("users.id", ondelete="CASCADE"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime)
    expires_at: Mapped[dt.datetime] = mapped_column(DateTime, index=True)
    used_at: Mapped[dt.datetime | None] = mapped_column(DateTime, nullable=True)


class MailOutboxItem(Base):
    """One e-mail waiting for (or done with) the SMTP sender: rendered when queued, in the change's transaction."""

    __tablename__ = "mail_outbox"
    __table_args__ = (Index("ix_mail_outbox_due", "state", "next_attempt_at"),
                      Index("ix_mail_outbox_account", "account_id", "id"))
    id: Mapped[int] = _pk()
    account_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("accounts.id", ondelete="CASCADE"),
                                                   nullable=True)
    user_id: Mapped[int | None] = mapped_column(BigId, nullable=True)  # the recipient, when an account user
    recipient: Mapped[str] = mapped_column(String(255))
    subject: Mapped[str] = mapped_column(String(500))
    text_body: Mapped[str] = mapped_column(Text)
    html_body: Mapped[str | None] = mapped_column(Text, nullable=True)
    kind: Mapped[str] = mapped_column(String(16))  # assigned | mentioned | comment | completed | direct
    task_id: Mapped[int | None] = mapped_column(BigId, nullable=True)
    comment_id: Mapped[int | None] = mapped_column(BigId, nullable=True)
    state: Mapped[str] = mapped_column(String(8), default="pending")  # pending | sent | failed | expired
    created_at: Mapped[dt.datetime] = mapped_column(DateTime)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[dt.datetime] = mapped_column(DateTime)
    locked_until: Mapped[dt.datetime | None] = mapped_column(DateTime, nullable=True)
    sent_at: Mapped[dt.datetime | None] = mapped_column(DateTime, nullable=True)
    last_error: Mapped[str] = mapped_column(Text, default="")


class MailPreference(Base):
    """A user's e-mail notification choice; no row = every kind on."""

    __tablename__ = "mail_preferences"
    user_id: Mapped[int] = mapped_column(BigId, ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    account_id: Mapped[int] = _account()
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    off_kinds: Mapped[list[Any]] = mapped_column(JSON, default=list)  # kinds switched off while enabled


class MigratedId(Base):
    """Which object of a migration's source (`localsection migrate`) became which row here, by kind.

    Written in the same transaction as the row it maps, so a resumed migration never copies an object twice.
    """

    __tablename__ = "migrated_ids"
    account_id: Mapped[int] = mapped_column(BigId, ForeignKey("accounts.id", ondelete="CASCADE"),
                                            primary_key=True)
    kind: Mapped[str] = mapped_column(String(24), primary_key=True)  # user, project, task, comment, cost, file...
    source_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    target_id: Mapped[int] = mapped_column(BigId)


# One project's tasks of an account in id order (search_tasks `project =`, task lists): migration 0009.
Index("ix_tasks_account_project", Task.account_id, Task.project_id, Task.id)
