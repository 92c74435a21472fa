"""`tunelab show STUDY --effects/--importance/--diagnose/--next`, `tunelab lr-find`,
`tunelab seed-spread` and `tunelab run --lr-find`: what a study teaches, in the terminal."""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path
from types import ModuleType
from typing import Any

import click
from rich.console import Console
from rich.table import Table
from rich.text import Text

import tunelab
from tunelab._terminal import console, text
from tunelab.cli import tables
from tunelab.cli.export import output_path, write_output
from tunelab.cli.render import STORAGE_HELP, fmt
from tunelab.cli.script import ScriptError, find_objective, load_script
from tunelab.insight import (
    EffectTable,
    InsightError,
    diagnose,
    effect_tables,
    finished_trials,
    importance,
    next_ranges,
    seed_spread,
)
from tunelab.space import HyperParameters
from tunelab.study import Study


def _num(value: Any) -> str:
    return fmt(value, digits=4)


# -- show --------------------------------------------------------------------------------
def show_insight(
    out: Console,
    study: Study,
    effects: bool = False,
    importance_: bool = False,
    diagnose_: str | None = None,
    next_: bool = False,
) -> None:
    """Print the analyses asked for, in a fixed order."""
    several = study.multi_objective
    for metric in study.metrics:  # with several objectives, each analysed on its own
        if effects:
            for table in effect_tables(study, metric=metric):
                out.print(effects_table(table, several))
        if importance_:
            out.print(importance_table(study, metric))
    if diagnose_ is not None:
        _print_diagnosis(out, study, diagnose_)
    if next_:
        out.print(
            Text.assemble(("next study", "bold"), text(f" (from the top trials of {study.name}):"))
        )
        for advice in next_ranges(study):
            out.print(text(f"  • {advice.text}"))


def effects_table(table: EffectTable, by_metric: bool = False) -> Table:
    """One effect table; `by_metric` names the objective in the title (a study of
    several objectives prints one set of tables per objective)."""
    title = f"{table.param} ({table.kind}{', log bins' if table.log_scale else ''})"
    if by_metric:
        title += f" → {table.metric} ({table.direction})"
    t = Table(title=text(title), title_justify="left")
    t.add_column("value")
    for col in ("trials", f"best {table.metric}", f"median {table.metric}", "median s", "pruned"):
        t.add_column(text(col), justify="right")
    for row in table.rows:
        t.add_row(
            text(row.label),
            str(row.n),
            _num(row.best),
            _num(row.median),
            "-" if row.median_seconds is None else f"{row.median_seconds:.3g}",
            f"{row.pruned_share:.0%}",
        )
    return tables.guard(t)


def importance_table(study: Study, metric: str | None = None) -> Table:
    """The importance scores, with any warning (few trials, confounded parameters) as
    the table's caption."""
    result = importance(study, metric=metric)
    t = Table(
        title=text(f"importance for {result.metric} ({result.method}, {result.n_trials} trials)"),
        title_justify="left",
        caption=text("\n".join(f"warning: {w}" for w in result.warnings)) or None,
        caption_justify="left",
    )
    t.add_column("hyperparameter")
    t.add_column("importance", justify="right")
    t.add_column("")
    for name, score in result.scores.items():
        t.add_row(text(name), f"{score:.3f}", "█" * max(0, round(score * 30)))
    for a, b, share in result.pairs[:3]:
        if share >= 0.01:
            t.add_row(text(f"{a} & {b}"), f"{share:.3f}", "(interaction)")
    return tables.guard(t)


def _print_diagnosis(out: Console, study: Study, which: str) -> None:
    if which == "all":
        for trial in finished_trials(study):
            result = diagnose(trial, study)
            out.print(
                text(
                    f"#{trial.number} {trial.state.value}: {result.kind.value} — {result.evidence}"
                )
            )
        return
    if which == "best":
        finished_trials(study)  # the clear error for an empty or all-failed study
        top = study.top_trials(1)
        if not top:
            raise InsightError(f"study {study.name!r} has no complete trial to diagnose")
        trial = top[0]
    else:
        try:
            number = int(which)
        except ValueError:
            raise click.BadParameter(
                f"--diagnose takes a trial number, 'all', or nothing (the best trial), got {which!r}"
            ) from None
        found = [t for t in study.trials if t.number == number]
        if not found:
            raise InsightError(
                f"study {study.name!r} has no trial #{number}; its trials are numbered "
                f"0-{len(study.trials) - 1}"
            )
        trial = found[0]
    result = diagnose(trial, study)
    out.print(
        Text.assemble(
            (f"trial #{trial.number}", "bold"), text(f": {result.kind.value} — {result.evidence}")
        )
    )
    for line in result.advice:
        out.print(text(f"  • {line}"))


# -- lr-find -----------------------------------------------------------------------------
def _kit(module: ModuleType, script: str, what: str) -> tuple[Any, Any, dict[str, Any]]:
    build_model = getattr(module, "build_model", None)
    data = getattr(module, "DATA", None)
    if build_model is not None and data is None and hasattr(module, "DATASETS"):
        raise ScriptError(
            f"{what} needs in-memory DATA, but {script} defines DATASETS; run "
            "tunelab.torch.lr_find(model, data) on a sample built with "
            "tunelab.torch.from_arrays(x, y)"
        )
    if build_model is None or data is None:
        raise ScriptError(
            f"{what} needs a script that defines build_model(hp) and DATA (the training "
            f"kit); {script} does not. In your own code call tunelab.torch.lr_find(model, data)"
        )
    return build_model, data, dict(getattr(module, "FIT", {}) or {})


def _fixed(fit: dict[str, Any], name: str, default: Any, kind: type | tuple[type, ...]) -> Any:
    value = fit.get(name, default)
    return value if isinstance(value, kind) and not isinstance(value, bool) else default


def run_lr_find(
    module: ModuleType, script: str, what: str = "lr-find", seed: int = 0, **options: Any
) -> Any:
    """lr_find on build_model(hp) with every hyperparameter at its default, using the
    optimizer, batch size and weight decay FIT fixes (else Adam, 64, 0). The model is
    built under `seed`, so the same script and seed give the same suggestion."""
    build_model, data, fit = _kit(module, script, what)
    import torch

    from tunelab.torch import lr_find

    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        model = build_model(HyperParameters())
    return lr_find(
        model,
        data,
        seed=seed,
        optimizer=_fixed(fit, "optimizer", "adam", str),
        batch_size=_fixed(fit, "batch_size", 64, int),
        weight_decay=float(_fixed(fit, "weight_decay", 0.0, (int, float))),
        **options,
    )


def print_lr_result(out: Console, result: Any) -> None:
    t = Table(
        title=text(f"learning-rate range test ({result.optimizer}, batch {result.batch_size})"),
        title_justify="left",
    )
    t.add_column("learning rate", justify="right")
    t.add_column("smoothed loss", justify="right")
    for lr, loss in result.table():
        t.add_row(f"{lr:.2e}", f"{loss:.4g}" if math.isfinite(loss) else str(loss))
    out.print(tables.guard(t))
    end = "the loss exploded" if result.stopped_early else "the end of the range was reached"
    out.print(
        f"{len(result.lrs)} steps ({end}); lowest loss at {result.min_loss_lr:.3g}\n"
        f"suggested learning rate: [bold]{result.suggestion:.3g}[/] ({result.method})\n"
        f"suggested search range: {result.low:.3g} … {result.high:.3g} (log scale)"
    )


@click.command(name="lr-find")
@click.argument("script", type=click.Path(dir_okay=False))
@click.option(
    "--start",
    type=click.FloatRange(min=0, min_open=True),
    default=1e-7,
    show_default=True,
    help="The learning rate the test starts at.",
)
@click.option(
    "--end",
    type=click.FloatRange(min=0, min_open=True),
    default=10.0,
    show_default=True,
    help="The learning rate the test stops at (earlier if the loss explodes).",
)
@click.option(
    "--steps",
    type=click.IntRange(min=10),
    default=100,
    show_default=True,
    help="Mini-batches in the test.",
)
@click.option(
    "--plot",
    "plot_path",
    type=click.Path(dir_okay=False),
    help="Write loss vs learning rate as a PNG (needs matplotlib).",
)
@click.option(
    "--json",
    "json_path",
    type=click.Path(dir_okay=False),
    help="Write the learning rates, losses and suggestion as JSON.",
)
@click.option(
    "--seed",
    type=int,
    default=0,
    show_default=True,
    help="Seeds the model's initial weights and the batch order: same seed, same suggestion.",
)
def lr_find_command(
    script: str,
    start: float,
    end: float,
    steps: int,
    plot_path: str | None,
    json_path: str | None,
    seed: int,
) -> None:
    """Learning-rate range test on SCRIPT's build_model(hp) and DATA."""
    import json

    out = console()
    for path in (plot_path, json_path):  # before the test, which takes a while
        if path:
            output_path(path, force=True)
    module = load_script(script)
    result = run_lr_find(module, script, seed=seed, start=start, end=end, num=steps)
    print_lr_result(out, result)
    if plot_path:
        out.print(text(f"plot: {result.plot(plot_path)}"))
    if json_path:
        write_output(Path(json_path), json.dumps(result.to_dict(), indent=1))
        out.print(text(f"data: {json_path}"))


def lr_find_fit(module: ModuleType, script: str) -> dict[str, Any]:
    """The kit script's FIT, once checked that `--lr-find` can choose its learning rate:
    `tunelab run` asks before it creates the study, so a refusal stores nothing."""
    _, _, fit = _kit(module, script, "--lr-find")
    if "learning_rate" in fit or fit.get("lr_scaling", "none") != "none":
        raise ScriptError(
            f"{script}: FIT sets learning_rate or lr_scaling itself; drop it from FIT to let "
            "--lr-find choose the learning-rate range, or drop --lr-find"
        )
    return dict(fit)


def narrowed_objective(module: ModuleType, script: str, study: Study, out: Console) -> Any:
    """`tunelab run --lr-find`: before the study's first trial, run the range test and
    let the kit search learning_rate only in the suggested range. A study that already
    defines learning_rate keeps its stored range (so rerunning the command resumes)."""
    fit = lr_find_fit(module, script)
    if "learning_rate" in study.space:
        domain = study.space["learning_rate"]
        out.print(text(f"--lr-find: the study already searches {domain.describe()}; keeping it"))
    else:
        result = run_lr_find(module, script, "--lr-find")
        domain = result.as_override()["learning_rate"]
        tuned = "optimizer" not in fit
        out.print(
            f"--lr-find: suggested {result.suggestion:.3g}; learning_rate searched in "
            f"{result.low:.3g} … {result.high:.3g} (log)"
            + (" — measured with Adam; fix FIT['optimizer'] when tuning others" if tuned else "")
        )
    setattr(module, "FIT", {**fit, "learning_rate": domain})  # noqa: B010 - a user's module
    return find_objective(module, script)


# -- seed-spread ---------------------------------------------------------------------------
@click.command(name="seed-spread")
@click.argument("script", type=click.Path(dir_okay=False))
@click.option("--study", "study_name", help="Study name (default: the script's file name).")
@click.option("--storage", help=STORAGE_HELP)
@click.option(
    "--top",
    "top_k",
    type=click.IntRange(min=1),
    default=3,
    show_default=True,
    help="How many of the best configurations to re-run.",
)
@click.option(
    "--seeds",
    type=click.IntRange(min=1),
    default=3,
    show_default=True,
    help="Re-runs of each configuration, each with another seed.",
)
@click.option(
    "--jobs",
    type=click.IntRange(min=1),
    default=1,
    show_default=True,
    help="Re-runs at once (worker processes).",
)
def seed_spread_command(
    script: str, study_name: str | None, storage: str | None, top_k: int, seeds: int, jobs: int
) -> None:
    """Re-run a study's top configurations with other seeds: mean ± spread."""
    out = console()
    module = load_script(script)
    objective = find_objective(module, script)
    study = tunelab.load_study(study_name or Path(script).stem, storage)
    results = seed_spread(study, objective, top_k=top_k, seeds=seeds, n_jobs=jobs)
    out.print(seed_table(results, study.metric))


def seed_table(results: Sequence[Any], metric: str) -> Table:
    t = Table(
        title=text(f"{metric} over seeds (re-runs in {results[0].study})" if results else metric),
        title_justify="left",
    )
    for col in ("trial", "same as", "original", "mean", "± std", "min", "max", "runs"):
        t.add_column(col, justify="right")
    for r in results:  # one row per distinct configuration
        t.add_row(
            f"#{r.number}",
            " ".join(f"#{n}" for n in r.same_as) or "-",
            _num(r.original),
            _num(r.mean),
            _num(r.std),
            _num(r.low),
            _num(r.high),
            f"{len(r.values)}" + (f" ({r.failed} failed)" if r.failed else ""),
        )
    return tables.guard(t)
