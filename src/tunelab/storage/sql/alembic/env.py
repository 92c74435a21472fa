"""Alembic's environment for tunelab's migrations.

tunelab runs them on a connection it has opened and holds in one transaction
(tunelab.storage.sql.migrations passes it in `config.attributes`), so this file opens
nothing and commits nothing: the caller commits the whole upgrade at once, or nothing.
"""

from alembic import context

context.configure(
    connection=context.config.attributes["connection"],
    version_table=context.config.attributes["version_table"],
)
with context.begin_transaction():  # joins the caller's transaction
    context.run_migrations()
