"""MLflowCallback: one MLflow run per finished trial, under one experiment per study."""

from __future__ import annotations

import contextlib
import os
import sys
import time
from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING, Any, TypeVar

from tunelab._extras import require
from tunelab.integrations._tracker import Tracker, trial_record, writable_dir
from tunelab.trial import FrozenTrial
from tunelab.types import TrialState

if TYPE_CHECKING:
    from tunelab import Study

USER = "tunelab.integrations.MLflowCallback"
_STATUS = {TrialState.COMPLETE: "FINISHED", TrialState.PRUNED: "KILLED"}  # else FAILED
_BATCH = {"metrics": 1000, "params": 100, "tags": 100}  # MLflow's log_batch limits
T = TypeVar("T")


class MLflowCallback(Tracker):
    """Record each finished trial as an MLflow run: its parameters, its reports as metric
    histories (step = the report's step), its final values, and tags for the study, the
    trial's number, state, end cause and reason. Runs go to `experiment` (default: the
    study's name) at `tracking_uri` (default: MLflow's own, i.e. MLFLOW_TRACKING_URI or
    ./mlflow.db). A run's status is FINISHED, KILLED (pruned) or FAILED.

    MLflow runs are written through an `MlflowClient`, so a run the user has active with
    `mlflow.start_run()` is neither used nor ended."""

    def __init__(
        self,
        tracking_uri: str | None = None,
        experiment: str | None = None,
        *,
        tags: dict[str, str] | None = None,
    ) -> None:
        super().__init__()
        mlflow = require("mlflow", extra="mlflow", user=USER)
        self.tracking_uri: str = tracking_uri or mlflow.get_tracking_uri()
        self.experiment = experiment
        self.tags = dict(tags or {})
        _check_local_store(self.tracking_uri)
        self._client: Any = None
        self._experiments: dict[str, str] = {}

    def __getstate__(self) -> dict[str, Any]:
        """A spawned worker process opens its own client."""
        return {**self.__dict__, "_client": None, "_experiments": {}}

    def record(self, study: Study, trial: FrozenTrial) -> None:
        from mlflow.entities import Metric, Param

        facts = trial_record(study, trial)
        client = self._open()
        run = client.create_run(
            self._experiment_id(self.experiment or study.name),
            start_time=_ms(facts.start),
            tags={**facts.tags, **self.tags},
            run_name=facts.run_name,
        )
        run_id = run.info.run_id
        metrics = [
            Metric(name, value, int(seconds * 1000), step)
            for step, seconds, values in facts.history
            for name, value in values.items()
        ]
        end = int((facts.end if facts.end is not None else time.time()) * 1000)
        # MLflow's latest value is the one with the highest (step, timestamp, value): the
        # result must come strictly after the last report, even within one millisecond.
        end = max([end, *(m.timestamp + 1 for m in metrics)])
        metrics += [Metric(n, v, end, facts.final_step) for n, v in facts.final.items()]
        params = [Param(name, str(value)) for name, value in facts.params.items()]
        status = "FAILED"  # a run half written is not left RUNNING
        try:
            for part in _chunks(metrics, _BATCH["metrics"]):
                client.log_batch(run_id, metrics=part)
            for chunk in _chunks(params, _BATCH["params"]):
                client.log_batch(run_id, params=chunk)
            status = _STATUS.get(trial.state, "FAILED")
        finally:
            client.set_terminated(run_id, status, end_time=end)

    def _open(self) -> Any:
        if self._client is None:
            from mlflow import MlflowClient

            with _first_open(self.tracking_uri):
                self._client = MlflowClient(tracking_uri=self.tracking_uri)
        return self._client

    def _experiment_id(self, name: str) -> str:
        """The experiment's id, made if missing (another worker may make it meanwhile)."""
        if name not in self._experiments:
            from mlflow.exceptions import MlflowException

            client = self._open()
            found = client.get_experiment_by_name(name)
            if found is None:
                try:
                    self._experiments[name] = client.create_experiment(name)
                except MlflowException:
                    found = client.get_experiment_by_name(name)
                    if found is None:
                        raise
            if found is not None:
                if found.lifecycle_stage == "deleted":
                    raise RuntimeError(
                        f"MLflow experiment {name!r} is deleted; restore it or give "
                        "experiment= another name"
                    )
                self._experiments[name] = found.experiment_id
        return self._experiments[name]


def _ms(seconds: float | None) -> int | None:
    return None if seconds is None else int(seconds * 1000)


def _chunks(items: Sequence[T], size: int) -> Iterator[Sequence[T]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


@contextlib.contextmanager
def _first_open(uri: str) -> Iterator[None]:
    """Open a SQLite store one process at a time: MLflow creates its schema when a client
    first opens the file, and worker processes (optimize(n_jobs=…)) that do it at once
    break each other's migrations."""
    path = _sqlite_path(uri)
    if path is None or sys.platform == "win32":
        yield
        return
    import fcntl

    with open(f"{path}.lock", "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def _sqlite_path(uri: str) -> str | None:
    """The file of a sqlite:/// URI (None for another store or an in-memory one)."""
    if not uri.startswith("sqlite:///"):
        return None
    path = uri[len("sqlite:///") :].partition("?")[0]
    return path if path and path != ":memory:" else None


def _check_local_store(uri: str) -> None:
    """Refuse a local store (sqlite:/// file or file: folder) whose directory cannot be
    written, before any trial runs; a server's URI is MLflow's to judge."""
    folder: str | None = None
    path = _sqlite_path(uri)
    if path is not None:
        folder = os.path.dirname(path) or "."
    elif uri.startswith("file:"):
        folder = uri[len("file:") :].removeprefix("//") or "."
    elif "://" not in uri and not uri.startswith(("databricks", "uc")):
        folder = uri
    if folder is not None:
        writable_dir(folder, user="MLflowCallback", option="tracking_uri")
