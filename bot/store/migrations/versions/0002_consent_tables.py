"""Consent (issue 17): opt_outs (accounts whose messages the bot forgets) and pauses.

Revision ID: 0002
Revises: 0001
Create Date: 2026-05-21

Spelled out here rather than imported from bot/store/schema.py, as 0001 is. Only new tables:
a database at 0001 keeps its quiz rounds, votes and voter key as they are.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # The account id as it is (not hashed): `catgpt-bot export-opt-outs` writes it for prepare.
    op.create_table(
        "opt_outs",
        sa.Column("user_id", sa.BigInteger, primary_key=True, autoincrement=False),
        sa.Column("opted_out_at", sa.DateTime(timezone=True), nullable=False),
    )
    # guild_id 0: paused everywhere (the persona's pause); else one server (its admins').
    op.create_table(
        "pauses",
        sa.Column("guild_id", sa.BigInteger, primary_key=True, autoincrement=False),
        sa.Column("paused_at", sa.DateTime(timezone=True), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("pauses")
    op.drop_table("opt_outs")
