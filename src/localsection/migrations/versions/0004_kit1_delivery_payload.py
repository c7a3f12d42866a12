"""webhook deliveries keep their event names and, in the emulator, their payload

`GET /_localsection/deliveries` (docs/control-api.md) shows each attempt's event names and the JSON array it
posted. `events` is always written (a short comma list); `payload` only when the emulator is switched on, so a
production server does not keep a copy of every delivery.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-01 14:00:00
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('webhook_deliveries') as batch:
        batch.add_column(sa.Column('events', sa.String(length=255), nullable=False, server_default=''))
        batch.add_column(sa.Column('payload', sa.Text(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('webhook_deliveries') as batch:
        batch.drop_column('payload')
        batch.drop_column('events')
