"""WandbCallback: one Weights & Biases run per finished trial, grouped by study."""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any

from tunelab._extras import require
from tunelab.integrations._tracker import Tracker, trial_record, writable_dir
from tunelab.trial import FrozenTrial
from tunelab.types import TrialState

if TYPE_CHECKING:
    from tunelab import Study

USER = "tunelab.integrations.WandbCallback"


class WandbCallback(Tracker):
    """Record each finished trial as a W&B run named `trial-<number>` in `group` (default:
    the study's name) of `project` (default: WANDB_PROJECT, else the study's name): the
    parameters as its config, each report as a history row at the report's step, and a
    summary with the final values and the trial's state, end cause and reason
    (`tunelab/state`, …); the run's tags hold the state. A failed trial's run exits with
    code 1.

    `mode` is W&B's ("online", "offline", "disabled"; default: WANDB_MODE, else online,
    which needs `wandb login`); `dir` is where W&B writes its files (default: WANDB_DIR,
    else the working directory). Runs are made when their trial ends, so W&B's own
    times are the callback's: the trial's start and duration are in the summary."""

    def __init__(
        self,
        project: str | None = None,
        group: str | None = None,
        mode: str | None = None,
        dir: str | os.PathLike[str] | None = None,
        *,
        entity: str | None = None,
        tags: list[str] | None = None,
    ) -> None:
        super().__init__()
        require("wandb", extra="wandb", user=USER)
        self.project = project
        self.group = group
        self.mode = mode
        self.dir = None if dir is None else writable_dir(dir, user="WandbCallback", option="dir")
        self.entity = entity
        self.tags = list(tags or [])

    def record(self, study: Study, trial: FrozenTrial) -> None:
        import wandb

        facts = trial_record(study, trial)
        summary: dict[str, Any] = {k.replace(".", "/", 1): v for k, v in facts.tags.items()}
        summary["tunelab/start"] = facts.start
        if facts.start is not None and facts.end is not None:
            summary["tunelab/duration"] = facts.end - facts.start
        run = wandb.init(
            entity=self.entity,
            project=self.project or os.environ.get("WANDB_PROJECT") or study.name,
            group=self.group or study.name,
            name=facts.run_name,
            config=dict(facts.params),
            tags=[trial.state.value, *self.tags],
            mode=self.mode,  # type: ignore[arg-type]  # W&B checks the text itself
            dir=self.dir,
            reinit="create_new",
            settings=wandb.Settings(silent=True, console="off"),
        )
        failed = True
        try:
            for step, _, values in facts.history:
                run.log(values, step=step, commit=True)
            run.summary.update({**facts.final, **summary})
            failed = trial.state is TrialState.FAIL
        finally:
            run.finish(exit_code=1 if failed else 0)
