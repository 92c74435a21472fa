"""The storage conformance suite on every backend: memory, a SQLite file, PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

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


class TestPostgreSQLStorage(StorageConformance):
    """The same contract on a real PostgreSQL server (a fresh database per test)."""

    @pytest.fixture
    def storage(self, postgres_url: str) -> Iterator[BaseStorage]:
        store = SQLStorage(postgres_url)
        try:
            yield store
        finally:
            store.close()

    def make_storage(self, tmp_path: Path) -> BaseStorage:  # pragma: no cover - see storage
        raise NotImplementedError

    def open_again(self, storage: BaseStorage) -> BaseStorage:
        return SQLStorage(storage.url)
