"""Reports from processes Lightning spawns (strategy='ddp_spawn'): every rank, rank 0
included, trains in a child process, but the trial lives in the objective's process. A
thread there listens on a local socket, reports what rank 0 sends and answers whether to
prune; the callback's copy in the children carries a `Link`: the socket's address and
key, plain data that any pickling or copying carries safely, connected on first use."""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from multiprocessing import AuthenticationError
from multiprocessing.connection import Client, Connection, Listener
from typing import Any

Handler = Callable[[int, dict[str, float]], bool]


class Link:
    """Rank 0's side of the relay: `ask` reports one epoch and returns whether to prune."""

    def __init__(self, address: Any, authkey: bytes) -> None:
        self.address = address
        self.authkey = authkey
        self._connection: Connection | None = None

    def __getstate__(self) -> dict[str, Any]:
        return {"address": self.address, "authkey": self.authkey, "_connection": None}

    def ask(self, epoch: int, metrics: dict[str, float]) -> bool:
        if self._connection is None:
            self._connection = Client(self.address, authkey=self.authkey)
        self._connection.send((epoch, metrics))
        kind, value = self._connection.recv()
        if kind == "error":
            raise value
        return bool(value)

    def end(self) -> None:
        """The fit is over: the objective's thread may stop."""
        if self._connection is not None:
            self._connection.send(None)
            self._connection.close()
            self._connection = None


class Relay:
    """The objective's side: serves one rank 0, `handle(epoch, metrics) -> prune`, until it
    ends its fit or goes away."""

    def __init__(self, handle: Handler) -> None:
        self._handle = handle
        key = os.urandom(32)
        self._listener = Listener(authkey=key)
        self.link = Link(self._listener.address, key)
        self._thread = threading.Thread(target=self._serve, name="tunelab-relay", daemon=True)
        self._thread.start()

    @property
    def alive(self) -> bool:
        return self._thread.is_alive()

    def _serve(self) -> None:
        try:
            with self._listener.accept() as connection:
                while True:
                    message = connection.recv()
                    if message is None:
                        return
                    try:
                        answer: tuple[str, object] = ("prune", self._handle(*message))
                    except Exception as error:  # sent to rank 0, which raises it there
                        answer = ("error", error)
                    connection.send(answer)
        except (EOFError, OSError, AuthenticationError):
            return  # rank 0 went away (its process ended or failed)
        finally:
            self._listener.close()
