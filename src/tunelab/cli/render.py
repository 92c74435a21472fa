"""Tables for the terminal (rich). Names and values in them are user text: each cell,
header and title that holds one is a `text` (no markup), so it is shown as written."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from rich.console import Group
from rich.table import Table
from rich.text import Text

from tunelab._terminal import plain, text
from tunelab.cli import tables
from tunelab.insight import InsightError, extrapolation_check, training_effort
from tunelab.insight.effort import lineage_text, paused_or_resumed, scheduled, trial_effort
from tunelab.storage import StudySummary
from tunelab.study.artifacts import kept_files
from tunelab.study.repause import RESTORE_KEY
from tunelab.trial import FrozenTrial, best_trial
from tunelab.types import EndCause, TrialState

STORAGE_HELP = "Database URL or SQLite file path (default: $TUNELAB_STORAGE, else ./tunelab.db)."


def fmt(value: Any, digits: int = 6) -> str:
    """A float to `digits` significant digits, anything else as `plain` text."""
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:.{digits}g}"
    return plain(value)


_STATE_COLUMN = {
    TrialState.COMPLETE: "complete",
    TrialState.PRUNED: "pruned",
    TrialState.FAIL: "failed",
    TrialState.RUNNING: "running",
    TrialState.PAUSED: "paused",
}


def studies_table(summaries: Sequence[StudySummary]) -> Table:
    """One row per study: its objectives ("maximize val_accuracy"), trial counts, best."""
    table = Table(title="Studies")
    states = [TrialState.COMPLETE, TrialState.PRUNED, TrialState.FAIL, TrialState.RUNNING]
    if any(s.counts[TrialState.PAUSED] for s in summaries):  # freeze-thaw studies only
        states.append(TrialState.PAUSED)
    for col in ("study", "objective", *(_STATE_COLUMN[s] for s in states), "best"):
        table.add_column(col, justify="left" if col in ("study", "objective") else "right")
    for s in summaries:
        c = s.counts
        table.add_row(
            text(s.record.name),
            text(", ".join(f"{o.direction.value} {o.metric}" for o in s.record.objectives)),
            *(str(c[state]) for state in states),
            text(fmt(s.best_value)),
        )
    return tables.guard(table)


def trials_table(
    trials: Sequence[FrozenTrial],
    metrics: Sequence[str],
    title: str,
    width: int = 80,
    fixed: Mapping[str, Any] | None = None,
    extra: Sequence[tables.Column] = (),
) -> Group:
    """One row per trial: its number, one column per objective, seconds, the `extra`
    columns (one cell per trial), and the parameters not in `fixed` (those go on one
    line above); split into continuation tables past `width` columns (tables.py), so no
    number is cut."""
    fixed = fixed or {}
    names: list[str] = []
    for t in trials:
        names.extend(n for n in t.params if n not in names and n not in fixed)
    rows = [
        t.values if t.values is not None and len(t.values) == len(metrics) else None for t in trials
    ]
    columns = [
        tables.Column(metric, [fmt(v[i]) if v else "-" for v in rows])
        for i, metric in enumerate(metrics)
    ]
    columns.append(
        tables.Column(
            "seconds", ["-" if t.duration is None else f"{t.duration:.3g}" for t in trials]
        )
    )
    columns.extend(extra)
    for name in names:
        cells = [fmt(t.params.get(name)) if name in t.params else "" for t in trials]
        numeric = all(isinstance(t.params.get(name), (int, float, type(None))) for t in trials)
        columns.append(tables.Column(name, cells, number=numeric))
    key = tables.Column("#", [str(t.number) for t in trials])
    return tables.grouped(
        tables.fixed_line(fixed, fmt) if fixed else None,
        *tables.split_columns(title, key, columns, width),
    )


def objectives_text(study: Any) -> str:
    """`maximize val_accuracy, minimize n_parameters`, and the constraints if any."""
    shown = ", ".join(f"{o.direction.value} {o.metric}" for o in study.objectives)
    if study.constraints:
        shown += " subject to " + ", ".join(c.describe() for c in study.constraints)
    return shown


def pareto_front(study: Any, width: int = 80) -> Group | None:
    """The study's Pareto front, best first in its first objective; None when empty."""
    front = study.best_trials
    if not front:
        return None
    first = study.objectives[0]
    sign = -1.0 if first.direction.value == "maximize" else 1.0
    front.sort(key=lambda t: (sign * t.values[0], t.number))
    noun = "trial" if len(front) == 1 else "trials"
    title = f"Pareto front: {len(front)} {noun}, by {first.metric}"
    fixed = tables.fixed_settings(study.get_trials())
    return trials_table(front, study.metrics, title, width, fixed)


def params_table(
    params: dict[str, Any], title: str, fixed: Mapping[str, Any] | None = None
) -> Table:
    """A trial's parameters, one row each; those in `fixed` left out (shown apart)."""
    params = {k: v for k, v in params.items() if k not in (fixed or {})}
    table = Table(title=text(title))
    table.add_column("hyperparameter")
    table.add_column("value", justify="right")
    for key, value in params.items():
        table.add_row(text(key), text(fmt(value)))
    return tables.guard(table)


_STOPPED_BY: dict[EndCause | None, str] = {
    EndCause.DIVERGED: "diverged (fit)",
    EndCause.OUT_OF_MEMORY: "out of memory (fit)",
}


def curve_model_text(trials: Sequence[FrozenTrial], study: Any) -> str | None:
    """How the curve model fared on this study when the extrapolate scheduler stopped
    trials (insight.extrapolation_check), or why it cannot be judged yet."""
    if not any(t.system_attrs.get("pruned_by") == "extrapolate" for t in trials):
        return None
    try:
        return extrapolation_check(study).text(limit=5)
    except InsightError as e:
        return f"curve model: {e}"


def pruning_table(trials: Sequence[FrozenTrial], scheduler: Any = None) -> Table | None:
    """Where trials were stopped (by which rule, at which step and rung) and the steps
    (epochs) saved against running every stopped trial as long as the complete ones."""
    pruned = [t for t in trials if t.state is TrialState.PRUNED]
    if not pruned:
        return None
    complete = [t for t in trials if t.state is TrialState.COMPLETE and t.reports]
    lengths = [t.last_step + 1 for t in complete if t.last_step is not None]
    full = max(lengths) if lengths else max((t.last_step or 0) + 1 for t in pruned)
    groups: dict[tuple[str, int, Any], list[FrozenTrial]] = {}
    for t in pruned:
        by = t.system_attrs.get("pruned_by")
        if by is None:
            by = _STOPPED_BY.get(t.end_cause, "objective")
        step = t.last_step if t.last_step is not None else -1
        groups.setdefault((str(by), step, t.system_attrs.get("rung")), []).append(t)
    steps = [(t.last_step + 1) if t.last_step is not None else 0 for t in pruned]
    run = sum(steps)
    saved = sum(max(0, full - s) for s in steps)
    spent = run + sum(lengths)
    share = saved / (spent + saved) if spent + saved else 0.0
    table = Table(
        title=text("pruning" + ("" if scheduler is None else f" · {scheduler.name}")),
        caption=(
            f"{len(pruned)} of {len(pruned) + len(complete)} trials stopped early; "
            f"{saved} of {spent + saved} steps saved ({share:.0%}) against running them "
            f"to {full} steps"
        ),
    )
    for col in ("stopped by", "at step", "rung", "trials", "steps saved"):
        table.add_column(col, justify="left" if col == "stopped by" else "right")
    for (by, step, rung), group in sorted(groups.items(), key=lambda kv: (kv[0][1], kv[0][0])):
        table.add_row(
            text(by),
            "-" if step < 0 else str(step),
            text(fmt(rung)),
            str(len(group)),
            str(sum(max(0, full - (step + 1)) for _ in group)),
        )
    return tables.guard(table)


def effort_columns(
    shown: Sequence[FrozenTrial], trials: Sequence[FrozenTrial]
) -> list[tables.Column]:
    """The steps each of the `shown` trials trained and its resumes, as columns of the
    trials table: when the study (`trials`) paused trials (freeze-thaw, PBT); else none."""
    if not paused_or_resumed(trials):
        return []
    rows = [trial_effort(t) for t in shown]
    return [
        tables.Column("steps", [str(r.steps) for r in rows]),
        tables.Column("resumes", [str(r.resumes) for r in rows]),
    ]


def training_lines(study: Any, trials: Sequence[FrozenTrial]) -> list[Text]:
    """Pauses, resumes and steps trained (when the study paused trials), then the PBT
    schedule the best trial's weights trained with, through its lineage."""
    lines = []
    if paused_or_resumed(trials) or scheduled(trials):
        said = training_effort(trials).text()
        lines.append(text(said[:1].upper() + said[1:] + "."))
    population = scheduled(trials)
    best = best_trial([t for t in population if t.state is TrialState.COMPLETE], study.direction)
    if best is not None and not study.multi_objective:
        try:
            lineage = lineage_text(trials, best.number)
        except InsightError as e:
            return [*lines, text(f"PBT lineage: {e}")]
        lines.append(text(f"PBT, best #{best.number}: {lineage}"))
        lines.append(
            text(f"  replay it on fresh weights: tunelab replay {study.name} --trial {best.number}")
        )
    return lines


def failures_table(failed: Sequence[FrozenTrial], study: str, limit: int = 5) -> Table:
    """The latest failed trials with how they ended and why (the reason cut to 160
    characters; `tunelab export` has it whole)."""
    shown = list(failed)[-limit:]
    table = Table(
        title="failed trials",
        caption=(
            None
            if len(shown) == len(failed)
            else text(f"the last {len(shown)} of {len(failed)}; all: tunelab export {study}")
        ),
    )
    table.add_column("#", justify="right")
    table.add_column("ended")
    table.add_column("reason")
    table.add_column("retried as", justify="right")
    for t in shown:
        reason = plain((t.reason or "").strip() or "-")  # newlines shown as \n: one row each
        table.add_row(
            str(t.number),
            "failed" if t.end_cause is None else t.end_cause.value.lower().replace("_", " "),
            text(reason if len(reason) <= 160 else reason[:159] + "…"),
            "" if t.retried_by is None else f"#{t.retried_by}",
        )
    return tables.guard(table)


def repaused_lines(paused: Sequence[FrozenTrial]) -> list[Text]:
    """One line per paused trial that went back to PAUSED after its worker was lost (its
    last paused checkpoint not yet restored), with its reason."""
    return [
        text(f"trial {t.number}: {plain(t.reason or 're-paused after its worker was lost')}")
        for t in paused
        if t.system_attrs.get(RESTORE_KEY) is not None
    ]


def kept_lines(trials: Sequence[FrozenTrial]) -> list[Text]:
    """Where the study's kept weights and last-epoch checkpoints are, and whose they are:
    a line naming the trials, then the path with `<n>` for the trial number."""
    weights, checkpoints = kept_files(trials)
    lines = []
    for what, found, hint in (
        ("kept weights", weights, "load with tunelab.torch.load_best"),
        ("last-epoch checkpoints", checkpoints, "resume with fit(…, resume_from=…)"),
    ):
        if not found:
            continue
        numbers = ", ".join(str(number) for number, _ in found)
        lines.append(text(f"{what} of trials {numbers} ({hint}):"))
        roots = {path.parent.parent for _, path in found}
        if len(roots) == 1:  # one root: its trial folders are trial-<number>
            lines.append(text(f"  {Path(roots.pop(), 'trial-<n>', found[0][1].name)}", "bold"))
        else:  # runs given different artifacts= folders
            lines += [text(f"  {path}", "bold") for _, path in found]
    return lines
