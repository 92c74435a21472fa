"""How a study looks in a Jupyter notebook (`Study._repr_html_`): its name and objectives,
its trials counted by state, and the best trial with its parameters (with several
objectives, the Pareto front's trials). Reads the trials once."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from tunelab._html import block, esc, table
from tunelab.errors import TunelabError
from tunelab.trial import FrozenTrial
from tunelab.types import TrialState

if TYPE_CHECKING:
    from tunelab.study.study import Study

FRONT_ROWS = 10  # front trials listed; the rest are counted


def study_html(study: Study) -> str:
    """The study as a compact HTML block; all user text is escaped."""
    trials = study.trials
    objectives = ", ".join(f"{o.metric} ({o.direction.value})" for o in study.objectives)
    counts = [(s.value, sum(t.state is s for t in trials)) for s in TrialState]
    shown = [(state, n) for state, n in counts if n]
    summary = (
        f"<div>{esc(objectives)} · {len(trials)} trials"
        + (": " + ", ".join(f"{n} {esc(state.lower())}" for state, n in shown) if shown else "")
        + "</div>"
    )
    best = _front_html(study) if study.multi_objective else _best_html(study, trials)
    return block(f"Study {study.name}", summary, best)


def _best_html(study: Study, trials: list[FrozenTrial]) -> str:
    if not any(t.state is TrialState.COMPLETE for t in trials):
        return "<div>no complete trial yet</div>"
    try:
        best = study.best_trial
    except TunelabError:  # no feasible complete trial: nothing is best
        return "<div>no feasible complete trial yet</div>"
    rows = [(study.metric, best.value), *best.params.items()]
    return table(["", "value"], rows, caption=f"best trial #{best.number}")


def _front_html(study: Study) -> str:
    front = study.best_trials
    if not front:
        return "<div>no feasible complete trial yet, so no Pareto front</div>"
    names = list(dict.fromkeys(n for t in front for n in t.params))
    rows = [
        [t.number, *(t.values or ()), *(t.params.get(n) for n in names)] for t in front[:FRONT_ROWS]
    ]
    more = f" (first {FRONT_ROWS} shown)" if len(front) > FRONT_ROWS else ""
    params = [f"{n} (parameter)" if n in study.metrics else n for n in names]
    return table(
        ["#", *study.metrics, *params], rows, caption=f"Pareto front: {len(front)} trials{more}"
    )


def trials_frame(study: Study) -> Any:
    """The study as a pandas DataFrame, one row per trial (what `Study.to_pandas` returns)."""
    try:
        import pandas as pd
    except ImportError:
        raise ImportError("to_pandas() needs pandas: pip install pandas") from None
    rows = []
    for t in study.trials:
        row: dict[str, Any] = {
            "number": t.number,
            "state": t.state.value,
            "value": t.value,
            "feasible": t.feasible,
            "end_cause": t.end_cause.value if t.end_cause is not None else None,
            "duration": t.duration,
            "reason": t.reason,
        }
        if study.multi_objective:
            values = t.values or (None,) * len(study.metrics)
            row.update({f"values_{m}": v for m, v in zip(study.metrics, values, strict=False)})
        row.update({f"params_{k}": v for k, v in t.params.items()})
        row.update({f"metrics_{k}": v for k, v in t.metrics.items()})
        rows.append(row)
    return pd.DataFrame(rows)
