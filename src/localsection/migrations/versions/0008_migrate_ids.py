"""migrated_ids: the source -> target id map of `localsection migrate`

One row per object copied from a Worksection account, written in the transaction that creates the object, so a
resumed migration knows exactly what exists and never copies an object twice.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-01 14:00:00
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'migrated_ids',
        sa.Column('account_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
        sa.Column('kind', sa.String(length=24), nullable=False),
        sa.Column('source_id', sa.String(length=64), nullable=False),
        sa.Column('target_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
        sa.ForeignKeyConstraint(['account_id'], ['accounts.id'], ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('account_id', 'kind', 'source_id'),
    )


def downgrade() -> None:
    op.drop_table('migrated_ids')
