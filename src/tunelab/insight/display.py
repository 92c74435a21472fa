"""How insight results look in a Jupyter notebook (`_repr_html_`): compact tables, every
piece of user text escaped. The lists `effect_tables` and `next_ranges` return render as
one table each too."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from tunelab._html import block, esc, table
from tunelab.insight.noise import spread_text

if TYPE_CHECKING:
    from tunelab.insight.confirm import Confirmation
    from tunelab.insight.diagnosis import Diagnosis
    from tunelab.insight.effects import EffectTable
    from tunelab.insight.importance import Importance
    from tunelab.insight.ranges import RangeAdvice
    from tunelab.insight.seeds import SeedSpread

MAX_PAIRS = 5


def effect_table_html(t: EffectTable) -> str:
    """Per value (or bin): trials, best and median metric, median time, share pruned."""
    rows = [
        (r.label, r.n, r.best, r.median, r.median_seconds, f"{r.pruned_share:.0%}") for r in t.rows
    ]
    headers = [t.param, "trials", f"best {t.metric}", f"median {t.metric}", "median s", "pruned"]
    title = f"Effect of {t.param}" + (" (log bins)" if t.log_scale else "")
    return block(title, table(headers, rows))


def importance_html(imp: Importance) -> str:
    """Each parameter's share, most important first, then the largest interactions."""
    parts = [table(["parameter", "importance"], [(n, f"{s:.1%}") for n, s in imp.scores.items()])]
    if imp.pairs:
        pairs = [(f"{a} \u00d7 {b}", f"{s:.1%}") for a, b, s in imp.pairs[:MAX_PAIRS]]
        parts.append(table(["pair", "interaction"], pairs))
    parts += [f"<div>warning: {esc(w)}</div>" for w in imp.warnings]
    title = f"Importance for {imp.metric or 'the metric'} ({imp.method}, {imp.n_trials} trials)"
    return block(title, *parts)


def diagnosis_html(d: Diagnosis) -> str:
    """The kind, the evidence and the advice as a list."""
    advice = "".join(f"<li>{esc(a)}</li>" for a in d.advice)
    return block(
        f"Trial #{d.number}: {d.kind.value}",
        f"<div>{esc(d.evidence)}</div>",
        f"<ul>{advice}</ul>" if advice else "",
    )


def ranges_html(advice: list[RangeAdvice]) -> str:
    """One row per parameter: searched range, proposed range or values, the advice."""
    rows = [
        (
            a.param,
            _span(a.searched_low, a.searched_high),
            _span(a.low, a.high) if a.values is None else ", ".join(map(str, a.values)),
            a.at_edge or "",
            a.text,
        )
        for a in advice
    ]
    headers = ["parameter", "searched", "next", "at edge", "advice"]
    return block("Where to search next", table(headers, rows))


def seeds_html(spreads: list[SeedSpread]) -> str:
    """One row per re-run configuration: original value, mean ± spread over the seeds."""
    rows = [(f"#{s.number}", s.original, s.mean, s.std, len(s.values), s.failed) for s in spreads]
    headers = ["trial", "original", "mean", "std", "seeds", "failed"]
    return block("Seed re-runs", table(headers, rows))


def confirmation_html(found: Confirmation) -> str:
    """One row per configuration, best mean first, then the verdict on the top two."""
    rows = [
        (c.label, " ".join(f"#{n}" for n in c.trials[1:]), c.original, spread_text(c.interval))
        for c in found.configs
    ]
    headers = ["config", "same as", f"original {found.metric}", "re-runs: mean ± 95% interval"]
    title = f"Seed re-runs (in {found.reruns})"
    return block(title, table(headers, rows), f"<div>{esc(found.verdict)}</div>")


def _span(low: Any, high: Any) -> str:
    if low is None and high is None:
        return ""
    return f"{low:.4g}\u2013{high:.4g}" if _floats(low, high) else f"{low}\u2013{high}"


def _floats(*values: Any) -> bool:
    return all(isinstance(v, float) for v in values)


class EffectTables(list["EffectTable"]):
    """The list `effect_tables` returns; a notebook shows every table."""

    def _repr_html_(self) -> str:
        return "".join(effect_table_html(t) for t in self) or "<div>no tuned parameters</div>"


class RangeAdvices(list["RangeAdvice"]):
    """The list `next_ranges` returns; a notebook shows it as one table."""

    def _repr_html_(self) -> str:
        return ranges_html(list(self))
