"""The first tables: store_meta (the voter key), quiz_rounds and quiz_votes (issue 16).

Revision ID: 0001
Revises:
Create Date: 2026-05-20

Spelled out here rather than imported from bot/store/schema.py: a revision must keep creating
what it created the day it was written.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "store_meta",
        sa.Column("key", sa.String(64), primary_key=True),
        sa.Column("value", sa.String(256), nullable=False),
    )
    op.create_table(
        "quiz_rounds",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("model", sa.String(128), nullable=False),
        sa.Column("guild_id", sa.BigInteger, nullable=True),
        sa.Column("channel_id", sa.BigInteger, nullable=False),
        sa.Column("real_message_id", sa.BigInteger, nullable=False),
        sa.Column("bot_choice", sa.Integer, nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("revealed_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint("bot_choice IN (0, 1)", name="ck_quiz_rounds_bot_choice"),
    )
    # stats() reads revealed rounds of one model and server.
    op.create_index("ix_quiz_rounds_model_guild", "quiz_rounds", ["model", "guild_id"])
    op.create_table(
        "quiz_votes",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column(
            "round_id",
            sa.Integer,
            sa.ForeignKey("quiz_rounds.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("voter", sa.String(64), nullable=False),
        sa.Column("choice", sa.Integer, nullable=False),
        sa.UniqueConstraint("round_id", "voter", name="uq_quiz_votes_round_voter"),
        sa.CheckConstraint("choice IN (0, 1)", name="ck_quiz_votes_choice"),
    )


def downgrade() -> None:
    op.drop_table("quiz_votes")
    op.drop_index("ix_quiz_rounds_model_guild", table_name="quiz_rounds")
    op.drop_table("quiz_rounds")
    op.drop_table("store_meta")
