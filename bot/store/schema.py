"""The store's tables as SQLAlchemy Core objects, for the queries in bot/store/database.py.

The migrations (bot/store/migrations/versions/) create and change the real tables; they spell
their tables out rather than import these, so an old revision keeps meaning what it meant
when this module moves on. tests/bot/test_store.py checks the two agree.
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    Column,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    UniqueConstraint,
)

metadata = MetaData()

# Small settings the database keeps about itself; today the key that hashes voter ids.
store_meta = Table(
    "store_meta",
    metadata,
    Column("key", String(64), primary_key=True),
    Column("value", String(256), nullable=False),
)

# One quiz round: the persona's real message against the model's reply, in random order.
quiz_rounds = Table(
    "quiz_rounds",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("model", String(128), nullable=False),  # the model folder's fingerprint
    Column("guild_id", BigInteger, nullable=True),  # None: the console game
    Column("channel_id", BigInteger, nullable=False),  # Discord snowflakes pass 2**31
    Column("real_message_id", BigInteger, nullable=False),
    Column("bot_choice", Integer, nullable=False),
    Column("started_at", DateTime(timezone=True), nullable=False),
    Column("revealed_at", DateTime(timezone=True), nullable=True),  # None while open
    CheckConstraint("bot_choice IN (0, 1)", name="ck_quiz_rounds_bot_choice"),
)
Index("ix_quiz_rounds_model_guild", quiz_rounds.c.model, quiz_rounds.c.guild_id)

# One row per voter per round: a re-vote updates `choice` (the unique constraint is what the
# upsert keys on, so two quick clicks cannot count twice).
quiz_votes = Table(
    "quiz_votes",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("round_id", Integer, ForeignKey("quiz_rounds.id", ondelete="CASCADE"), nullable=False),
    Column("voter", String(64), nullable=False),  # HMAC-SHA256 hex of the account id
    Column("choice", Integer, nullable=False),
    UniqueConstraint("round_id", "voter", name="uq_quiz_votes_round_voter"),
    CheckConstraint("choice IN (0, 1)", name="ck_quiz_votes_choice"),
)

# Accounts that asked the bot to forget their messages (`/catgpt forget`). The account id
# itself, not a hash: `catgpt-bot export-opt-outs` writes these ids for `prepare --opt-outs`.
opt_outs = Table(
    "opt_outs",
    metadata,
    Column("user_id", BigInteger, primary_key=True, autoincrement=False),
    Column("opted_out_at", DateTime(timezone=True), nullable=False),
)

# Where the bot is paused: a server's id, or EVERYWHERE (the persona's pause). No row: running.
pauses = Table(
    "pauses",
    metadata,
    Column("guild_id", BigInteger, primary_key=True, autoincrement=False),
    Column("paused_at", DateTime(timezone=True), nullable=False),
)
EVERYWHERE = 0  # pauses.guild_id of the pause everywhere: no Discord id is 0

VOTER_KEY = "voter_key"  # store_meta's key for the HMAC secret
