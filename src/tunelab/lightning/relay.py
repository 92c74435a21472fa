"""Reports from processes Lightning spawns (strategy='ddp_spawn'): every rank, rank 0
included, trains in a child process, but the trial lives in the objective's process. The
callback pickled into the children carries one end of a pipe; a thread in the objective's
process holds the other, reports what rank 0 sends and answers whether to prune."""

from __future__ import annotations

import multiprocessing
import threading
from collections.abc import Callable
from multiprocessing.connection import Connection

Handler = Callable[[int, dict[str, float]], bool]


class Relay:
    """The objective's side: serves `handle(epoch, metrics) -> prune` until told to end."""

    def __init__(self, handle: Handler) -> None:
        self._here, self.there = multiprocessing.Pipe()
        self._handle = handle
        self._thread = threading.Thread(target=self._serve, name="tunelab-relay", daemon=True)
        self._thread.start()

    @property
    def alive(self) -> bool:
        return self._thread.is_alive()

    def _serve(self) -> None:
        while True:
            try:
                message = self._here.recv()
            except (EOFError, OSError):
                return
            if message is None:
                return
            try:
                answer: tuple[str, object] = ("prune", self._handle(*message))
            except Exception as error:  # sent to rank 0, which raises it there
                answer = ("error", error)
            self._here.send(answer)


def ask(there: Connection, epoch: int, metrics: dict[str, float]) -> bool:
    """Rank 0's side: report one epoch through the pipe; whether the study prunes."""
    there.send((epoch, metrics))
    kind, value = there.recv()
    if kind == "error":
        raise value
    return bool(value)


def end(there: Connection) -> None:
    """Rank 0's side: the fit is over; the objective's thread may stop."""
    there.send(None)
