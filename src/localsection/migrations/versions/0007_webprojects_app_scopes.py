"""OAuth apps: the scopes an app may ask for (NULL: every scope, as before)

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-01 14:00:00
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('oauth_apps') as batch:
        batch.add_column(sa.Column('scopes', sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('oauth_apps') as batch:
        batch.drop_column('scopes')
