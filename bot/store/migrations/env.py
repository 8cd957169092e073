"""Alembic's entry point, run by bot/store/migrate.py on a connection it already holds.

No alembic.ini: migrate.py builds the Config in code and passes its open connection in
`config.attributes["connection"]`, so migrations run inside the store's own transaction (and,
on PostgreSQL, under its lock). Offline (SQL script) mode is not supported: the bot migrates
its database itself at start.
"""

from __future__ import annotations

from alembic import context

connection = context.config.attributes.get("connection")
if connection is None:
    raise RuntimeError("bot/store/migrations runs through bot.store.migrate, on a connection")

# render_as_batch: SQLite cannot ALTER most things; batch mode copies the table instead, so a
# later revision written with op.batch_alter_table works on both databases.
context.configure(connection=connection, target_metadata=None, render_as_batch=True)
with context.begin_transaction():
    context.run_migrations()
