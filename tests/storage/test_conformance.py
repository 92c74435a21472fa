"""The storage conformance suite on every backend: memory and a SQLite file."""

from __future__ import annotations

from pathlib import Path

from tunelab.storage import BaseStorage, InMemoryStorage
from tunelab.storage.sql import SQLStorage
from tunelab.testing.storage_conformance import StorageConformance


class TestInMemoryStorage(StorageConformance):
    def make_storage(self, tmp_path: Path) -> BaseStorage:
        return InMemoryStorage()


class TestSQLiteStorage(StorageConformance):
    def make_storage(self, tmp_path: Path) -> BaseStorage:
        return SQLStorage(str(tmp_path / "studies.db"))

    def open_again(self, storage: BaseStorage) -> BaseStorage:
        return SQLStorage(storage.url)  # another engine: other connections, same file
