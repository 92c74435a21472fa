"""The report's sections for a study of several objectives: its Pareto front as a table
beside the plot, and the hypervolume history in place of "best so far"."""

from __future__ import annotations

from collections.abc import Sequence

from tunelab.plot.pareto import FRONT, front_plot, hypervolume_plot, split_front
from tunelab.plot.scores import Score
from tunelab.report.markup import note, table
from tunelab.report.section import Section
from tunelab.trial import FrozenTrial


def front_sections(trials: Sequence[FrozenTrial], scores: Sequence[Score]) -> list[Section]:
    """The report's sections for a study of several objectives: the front as a table
    and a plot, then the hypervolume history."""
    groups = split_front(trials, scores)
    front = groups[FRONT]
    if not front:
        why = "no feasible complete trial yet, so no Pareto front"
        return [Section("pareto", "Pareto front", note(why, "warn"))]
    names = list(dict.fromkeys(n for t in front for n in t.params))
    rows = [
        [t.number, *(s.of(t) for s in scores), *(t.params.get(n, "") for n in names)] for t in front
    ]
    text = note(
        f"The {len(front)} feasible complete trials that no other one beats in every "
        f"objective, by {scores[0].metric}. In the plot they are red; dominated trials are "
        "faded, infeasible ones grey crosses (never on the front). Hover a point for its "
        "configuration."
    )
    pareto = Section(
        "pareto",
        f"Pareto front ({len(front)} trials)",
        text + table(["#", *(s.metric for s in scores), *names], rows),
        (("fig-pareto", front_plot(groups, scores)),),
    )
    caption = note(
        "The volume of objective space the front dominates, after each feasible complete "
        "trial. It is measured against one fixed reference point (in the title): the "
        "nadir of the study's final front plus 10% of its range in each objective, so the "
        "curve never falls and trials worse than that point add nothing."
    )
    hv = Section(
        "history",
        "Optimization history",
        caption,
        (("fig-history", hypervolume_plot(trials, scores)),),
    )
    return [pareto, hv]
