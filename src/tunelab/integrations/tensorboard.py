"""TensorBoardCallback: one TensorBoard run folder per finished trial, with the trial's
scalars and its hyperparameters for the HParams dashboard. Written with TensorBoard's
own event writer and summary protos: neither TensorFlow nor torch is needed."""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from tunelab._extras import require
from tunelab.integrations._tracker import Tracker, safe_name, trial_record, writable_dir
from tunelab.trial import FrozenTrial
from tunelab.types import TrialState

if TYPE_CHECKING:
    from tunelab import Study

USER = "tunelab.integrations.TensorBoardCallback"


class TensorBoardCallback(Tracker):
    """Write each finished trial to `log_dir/<study>/trial-<number>`: every reported
    metric as a scalar at its step, the final values at the last step (so they are the
    latest), the trial's tags (study, number, state, end cause, reason) as a table in the
    Text tab, and the HParams plugin's session records: the parameters, and a status
    (failure for a failed trial; success for a complete or pruned one, since the plugin
    has no status for a trial stopped early on purpose). `tensorboard
    --logdir log_dir` then shows the curves, and the HParams tab a table of the trials
    with each metric's final value. Parameters that are not numbers, booleans or text
    are shown as JSON text."""

    def __init__(self, log_dir: str | os.PathLike[str]) -> None:
        super().__init__()
        require("tensorboard", extra="tensorboard", user=USER)
        self.log_dir = writable_dir(log_dir, user="TensorBoardCallback", option="log_dir")

    def run_dir(self, study: Study, trial: FrozenTrial) -> Path:
        """Where one trial's events go."""
        return self.log_dir / safe_name(study.name) / f"trial-{trial.number}"

    def record(self, study: Study, trial: FrozenTrial) -> None:
        from tensorboard.compat.proto.event_pb2 import Event
        from tensorboard.plugins.hparams import summary_v2 as hparams
        from tensorboard.plugins.scalar.summary_v2 import scalar_pb
        from tensorboard.plugins.text.summary_v2 import text_pb
        from tensorboard.summary.writer.event_file_writer import EventFileWriter

        facts = trial_record(study, trial)
        start = facts.start if facts.start is not None else 0.0
        end = facts.end if facts.end is not None else start
        session = f"{safe_name(study.name)}/{facts.run_name}"
        writer = EventFileWriter(str(self.run_dir(study, trial)))
        try:
            params = {k: _hparam_value(v) for k, v in facts.params.items()}
            first = hparams.hparams_pb(params, trial_id=session, start_time_secs=start)
            writer.add_event(Event(wall_time=start, step=0, summary=first))
            for step, time, values in facts.history:
                for name, value in values.items():
                    writer.add_event(
                        Event(wall_time=time, step=step, summary=scalar_pb(name, value))
                    )
            for name, value in facts.final.items():
                summary = scalar_pb(name, value)
                writer.add_event(Event(wall_time=end, step=facts.final_step, summary=summary))
            about = text_pb("tunelab/trial", _about(facts.tags))
            writer.add_event(Event(wall_time=end, step=facts.final_step, summary=about))
            writer.add_event(Event(wall_time=end, step=0, summary=_session_end(trial.state, end)))
        finally:
            writer.close()


def _hparam_value(value: Any) -> bool | int | float | str:
    """A parameter as the HParams plugin takes one."""
    if isinstance(value, (bool, int, float, str)):
        return value
    return json.dumps(value, default=str)


def _about(tags: Mapping[str, str]) -> str:
    """The trial's tags as a Markdown table for the Text tab."""
    rows = "\n".join(f"| {k} | {v.replace('|', '/')} |" for k, v in tags.items())
    return f"| tag | value |\n|---|---|\n{rows}"


def _session_end(state: TrialState, end: float) -> Any:
    """The HParams plugin's end-of-session summary with the trial's status (TensorBoard
    offers no builder for it outside TensorFlow)."""
    from tensorboard.compat.proto.summary_pb2 import Summary
    from tensorboard.plugins.hparams import api_pb2, metadata, plugin_data_pb2

    status = api_pb2.STATUS_FAILURE if state is TrialState.FAIL else api_pb2.STATUS_SUCCESS
    info = plugin_data_pb2.SessionEndInfo(status=status, end_time_secs=end)
    data = metadata.create_summary_metadata(
        plugin_data_pb2.HParamsPluginData(session_end_info=info)
    )
    value = Summary.Value(
        tag=metadata.SESSION_END_INFO_TAG, metadata=data, tensor=metadata.NULL_TENSOR
    )
    return Summary(value=[value])
