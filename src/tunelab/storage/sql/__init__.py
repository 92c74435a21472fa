"""SQL storage (SQLAlchemy Core): SQLite files by default, PostgreSQL with another URL."""

from tunelab.storage.sql.engine import DEFAULT_URL
from tunelab.storage.sql.migrations import upgrade
from tunelab.storage.sql.storage import SQLStorage

__all__ = ["DEFAULT_URL", "SQLStorage", "upgrade"]
