"""One worker: join a stored study and run its trials until its work is done.

What `tunelab worker` and the Ray launcher run. Any number of workers, on any
number of machines, share a study through its database; `n_trials` is the
study-wide total, so every worker can be started with the same command.
"""

from __future__ import annotations

import time
from collections.abc import Sequence

from tunelab.errors import ConfigurationError
from tunelab.study.api import load_study
from tunelab.study.optimize import Callback, Objective, RunPlan, check_limits, run_trials
from tunelab.study.supervise import Hygiene, Supervisor


def run_worker(
    study_name: str,
    storage: str,
    objective: Objective,
    n_trials: int | None = None,
    timeout: float | None = None,
    hygiene: Hygiene | None = None,
    callbacks: Sequence[Callback] = (),
    catch: tuple[type[BaseException], ...] = (Exception,),
) -> int:
    """Run trials of an existing study until it holds `n_trials` (study-wide), `timeout`
    seconds pass, the sampler runs out, or `tunelab stop` is asked. Returns the number of
    trial processes started (0 when trials ran in this process)."""
    hygiene = hygiene or Hygiene()
    check_limits(n_trials, timeout)
    study = load_study(study_name, storage)
    plan = RunPlan(
        n_trials, None if timeout is None else time.time() + timeout, catch, 5, hygiene.slots
    )
    if not hygiene.needs_children:
        run_trials(study, objective, plan, callbacks)
        return 0
    if not study.storage.shared_across_processes:
        raise ConfigurationError(
            "trial processes cannot share in-memory storage; use a SQLite file or a database URL"
        )
    opener = study.opener(fork=False)
    try:
        return Supervisor(study, opener, objective, plan, hygiene, callbacks).run()
    finally:
        study.close()
        study.storage.close()
