"""Riding out a held lock or a database server that went away, within a time budget.

Every storage transaction runs through `Retrier.run`. A transaction that meets a lock
held by another process, a connection the server dropped, or a server that refuses new
connections (restarting, failing over) is run again with backoff until it succeeds or
the budget (TUNELAB_DB_WAIT_S, default 60 s) is spent. A wait longer than half a second
is said once, through the `tunelab` logger, and so is its end; giving up is one line
that names the problem and what to do. A server that was never reached is not waited
for: a wrong URL fails at once.
"""

from __future__ import annotations

import enum
import logging
import os
import random
import threading
import time
from collections.abc import Callable
from typing import TypeVar

from sqlalchemy import exc

from tunelab import errors
from tunelab.errors import StorageError

T = TypeVar("T")

WAIT_ENV = "TUNELAB_DB_WAIT_S"
DEFAULT_WAIT_S = 60.0
ANNOUNCE_AFTER_S = 0.5  # shorter waits (ordinary contention, a stale connection) say nothing
FIRST_DELAY_S = 0.05
MAX_DELAY_S = 2.0
LOCK_PAUSE_S = 0.02  # SQLite waits inside its busy handler; between tries only a breath
_PG_TRANSIENT = ("08", "57P01", "57P02", "57P03")  # connection exceptions, shutdowns
_PG_LOCKS = ("40001", "40P01", "55P03")  # serialization failure, deadlock, lock not available

log = logging.getLogger("tunelab.storage")


class Trouble(enum.Enum):
    """Why a transaction may succeed if run again."""

    LOCK = "lock"  # another transaction holds what this one needs
    AWAY = "away"  # the server dropped the connection or does not accept new ones


def wait_budget() -> float:
    """Seconds to wait for a lock or the server, from TUNELAB_DB_WAIT_S."""
    text = os.environ.get(WAIT_ENV, "").strip()
    if not text:
        return DEFAULT_WAIT_S
    try:
        seconds = float(text)
    except ValueError:
        seconds = -1.0
    if not seconds >= 0 or seconds == float("inf"):
        raise StorageError(
            f"{WAIT_ENV} must be a number of seconds >= 0, but got {text!r}; e.g. "
            f"{WAIT_ENV}=120 waits two minutes for a locked or restarting database"
        )
    return seconds


def is_lock_error(error: BaseException) -> bool:
    text = str(error).lower()
    return "database is locked" in text or "database is busy" in text or "deadlock" in text


def first_line(error: BaseException) -> str:
    """The first line of a database error, the driver's own message where SQLAlchemy
    wraps one."""
    return errors.first_line(getattr(error, "orig", None) or error).strip()


class Retrier:
    """Runs one database's transactions again while it is locked or away (see the module).

    One per storage object, shared by its threads (a heartbeat thread and the trial
    loop): a wait is announced once however many threads wait."""

    def __init__(self, display: str, budget_s: float | None = None) -> None:
        self.display = display
        self.budget_s = wait_budget() if budget_s is None else float(budget_s)
        self.resumed_at = 0.0  # time.time() when a transaction last got through after a wait
        self._reached = False  # the server answered once: an error now is not a wrong URL
        self._announced: Trouble | None = None
        self._waited_since = 0.0
        self._say = threading.Lock()  # taken without blocking: a fork cannot leave it stuck

    def run(self, fn: Callable[[], T], what: str) -> T:
        """`fn()`, run again on a lock or a lost server until `budget_s` has passed."""
        started = time.monotonic()
        delay = FIRST_DELAY_S
        tries = 0
        while True:
            try:
                result = fn()
            except exc.DBAPIError as e:
                trouble = self._trouble(e)
                if trouble is None:
                    if isinstance(e, exc.OperationalError):
                        raise StorageError(f"{what} failed: {first_line(e)}") from e
                    raise
                tries += 1
                waited = time.monotonic() - started
                if waited >= self.budget_s:
                    raise StorageError(self._give_up(trouble, what, e)) from e
                if trouble is Trouble.LOCK:
                    pause = LOCK_PAUSE_S
                elif tries == 1:  # a connection the pool kept from before a restart
                    pause = 0.0
                else:
                    pause = delay * random.uniform(0.5, 1.0)
                    delay = min(delay * 2, MAX_DELAY_S)
                log.info(  # each try, for `tunelab -v`; the wait itself is said once
                    "%s: %s (try %d); trying again in %.2f s", what, first_line(e), tries, pause
                )
                if waited + pause >= ANNOUNCE_AFTER_S:
                    self._announce(trouble, e, started)
                time.sleep(min(pause, max(self.budget_s - waited, 0.0)))
                continue
            self._reached = True
            if tries:
                self.resumed_at = time.time()
                self._resumed()
            return result

    def _trouble(self, error: exc.DBAPIError) -> Trouble | None:
        code = getattr(error.orig, "sqlstate", None) or ""
        if is_lock_error(error) or code.startswith(_PG_LOCKS):
            return Trouble.LOCK
        if error.connection_invalidated or code.startswith(_PG_TRANSIENT):
            return Trouble.AWAY
        if self._reached and not code and isinstance(error, exc.OperationalError):
            return Trouble.AWAY  # a new connection refused by a server that answered before
        return None

    def _announce(self, trouble: Trouble, error: BaseException, since: float) -> None:
        if self._announced is not None or not self._say.acquire(blocking=False):
            return
        try:
            if self._announced is None:
                self._announced, self._waited_since = trouble, since
                log.warning(self._waiting(trouble, error))
        finally:
            self._say.release()

    def _resumed(self) -> None:
        if self._announced is None or not self._say.acquire(blocking=False):
            return
        try:
            if self._announced is not None:
                waited = time.monotonic() - self._waited_since
                done = (
                    "got the database lock"
                    if self._announced is Trouble.LOCK
                    else f"reached the database server of {self.display} again"
                )
                log.warning("%s after %.1f s; going on", done, waited)
                self._announced = None
        finally:
            self._say.release()

    def _waiting(self, trouble: Trouble, error: BaseException) -> str:
        limit = f"up to {self.budget_s:g} s; {WAIT_ENV} sets how long"
        if trouble is Trouble.LOCK:
            return f"waiting for the database lock held by another process… ({limit})"
        return f"waiting for the database server of {self.display} ({limit}): {first_line(error)}"

    def _give_up(self, trouble: Trouble, what: str, error: BaseException) -> str:
        longer = f"or set {WAIT_ENV}=SECONDS to wait longer than {self.budget_s:g} s"
        if trouble is Trouble.LOCK:
            return (
                f"{what} failed: another process held the lock of {self.display} for "
                f"{self.budget_s:g} s; end the transaction that holds it (a stuck process, "
                f"an open database shell), {longer}"
            )
        return (
            f"{what} failed: the database server of {self.display} did not answer for "
            f"{self.budget_s:g} s ({first_line(error)}); check that it runs and can be "
            f"reached, {longer}"
        )
