"""events: an index for one task's activity (project, page, date)

The web app's task page lists the events of one task and its comments (domain/events.task_events: project and
page, newest first). With only (project_id, date_added) a project of 200,000 events took ~80 ms on SQLite.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-01 14:05:00
"""
from __future__ import annotations

from alembic import op

revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index('ix_events_project_page_date', 'events', ['project_id', 'page', 'date_added'])


def downgrade() -> None:
    op.drop_index('ix_events_project_page_date', table_name='events')
