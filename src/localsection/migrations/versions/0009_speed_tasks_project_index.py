"""tasks by account and project, in id order

search_tasks with `project = N` (and every per-project task list) reads one project's tasks of an account in id
order. With only (account_id) and (project_id, parent_id) to choose from, SQLite walked the account's index in id
order and tested every task of the account: over 1,000,000 tasks that cost more than finding the 50,000 that
match (docs/performance.md, round two). This index gives one project's tasks in id order, without a sort.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-01 14:30:00
"""
from __future__ import annotations

from alembic import op

revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index('ix_tasks_account_project', 'tasks', ['account_id', 'project_id', 'id'], unique=False)


def downgrade() -> None:
    op.drop_index('ix_tasks_account_project', table_name='tasks')
