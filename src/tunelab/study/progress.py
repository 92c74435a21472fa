"""A live progress bar: trials done of the budget, elapsed time, an ETA from the trial
durations so far, and the best value. It polls storage, so it shows every worker. The
study's name and metric are user text: their columns read no markup.

With several objectives there is no best value; the bar shows the size of the Pareto
front of the feasible complete trials so far and its hypervolume ("front 4 · HV 0.123"),
measured against `default_reference_point` of the values so far (the front's nadir plus
10% of its range, with maximized objectives negated). That reference moves as the front
grows, so the number tracks a running study; the report's hypervolume history uses one
fixed reference and is the one to compare moments by.

In a Jupyter kernel rich draws its live bar into an ipywidgets Output; without ipywidgets
rich would warn and draw nothing, so the display prints one plain line per change of the
trial count instead."""

from __future__ import annotations

import contextlib
import importlib.util
import statistics
import sys
import threading
import time
from typing import Any

from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from tunelab._terminal import console, plain
from tunelab.study.front import hypervolume_now
from tunelab.types import TrialState


class ProgressDisplay:
    def __init__(self, study: Any, total: int | None, n_jobs: int, interval: float = 0.5) -> None:
        self._study = study
        self._total = total
        self._n_jobs = max(1, n_jobs)
        self._interval = interval
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._started = time.monotonic()
        self._printed: int | None = None  # the trial count of the last text line
        stderr = console(stderr=True)
        self._lines = stderr.is_jupyter and importlib.util.find_spec("ipywidgets") is None
        self._progress = Progress(
            TextColumn("{task.fields[name]}", style="bold", markup=False),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            TextColumn("ETA {task.fields[eta]}"),
            TextColumn("{task.fields[best]}", markup=False),
            TextColumn("{task.fields[failed]}", style="red", markup=False),
            console=stderr,
            transient=False,
        )
        self._task = self._progress.add_task(
            "trials",
            total=total,
            name=plain(study.name),
            eta="?",
            best=best_text(study, None),
            failed="",
        )

    def snapshot(self) -> dict[str, Any]:
        trials = self._study.storage.get_trials(self._study.study_id, with_reports=False)
        finished = [t for t in trials if t.state.is_finished and t.counts_toward_budget]
        running = sum(1 for t in trials if t.state is TrialState.RUNNING)
        durations = [t.duration for t in finished if t.duration is not None]
        best: Any = None
        if self._study.multi_objective:
            size, volume = hypervolume_now(finished, self._study.objectives)
            best = None if volume is None else (size, volume)
        else:
            complete = [
                t.value
                for t in finished
                if t.state is TrialState.COMPLETE and t.value is not None and t.feasible
            ]
            if complete:
                maximize = self._study.direction.value == "maximize"
                best = max(complete) if maximize else min(complete)
        eta = None
        if self._total is not None and durations:
            left = max(self._total - len(finished) - running, 0) + running / 2
            eta = statistics.median(durations) * left / self._n_jobs
        failed = sum(1 for t in finished if t.state is TrialState.FAIL)
        return {
            "done": len(finished),
            "running": running,
            "best": best,
            "eta": eta,
            "failed": failed,
        }

    def refresh(self) -> None:
        snap = self.snapshot()
        eta = "?" if snap["eta"] is None else time.strftime("%H:%M:%S", time.gmtime(snap["eta"]))
        best = best_text(self._study, snap["best"])
        failed = f"{snap['failed']} failed" if snap["failed"] else ""
        if self._lines:
            self._print_line(snap["done"], eta, best, failed)
            return
        self._progress.update(self._task, completed=snap["done"], eta=eta, best=best, failed=failed)

    def _print_line(self, done: int, eta: str, best: str, failed: str) -> None:
        """The notebook fallback: 'name: 3/20 trials, 0:00:05, ETA 00:00:12, best m=0.9'."""
        if done == self._printed:
            return
        self._printed = done
        elapsed = time.strftime("%H:%M:%S", time.gmtime(time.monotonic() - self._started))
        of = f"/{self._total}" if self._total is not None else ""
        parts = [f"{plain(self._study.name)}: {done}{of} trials", elapsed]
        parts += [f"ETA {eta}"] if self._total is not None else []
        parts += [best] + ([failed] if failed else [])
        print(", ".join(parts), file=sys.stdout, flush=True)

    def _run(self) -> None:
        while not self._stop.wait(self._interval):
            with contextlib.suppress(Exception):
                self.refresh()

    def __enter__(self) -> ProgressDisplay:
        if not self._lines:
            self._progress.start()
        self.refresh()
        self._thread = threading.Thread(target=self._run, name="tunelab-progress", daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
        try:
            self.refresh()
        finally:
            if not self._lines:
                self._progress.stop()


def best_text(study: Any, best: Any) -> str:
    """The bar's last column: 'best metric=value', or with several objectives
    'front N · HV value' (see the module docstring for the reference point)."""
    if best is None:
        return "front -" if study.multi_objective else "best -"
    if study.multi_objective:
        return f"front {best[0]} · HV {best[1]:.6g}"
    return f"best {plain(study.metric)}={best:.6g}"
