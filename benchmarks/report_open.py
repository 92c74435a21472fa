"""How long the HTML report of a 1,000-trial study takes to open in a browser (issue 22).

Run: `flock /tmp/helpers/bench.lock python benchmarks/report_open.py [DB] [--trials N]`
(needs playwright and /usr/bin/chromium, as the report's browser tests do).

The study is generated once into DB (default /tmp/tunelab-bench/report_open.db, a real
SQLite file; reused when it already holds the study): N trials (default 1,000) of a random
search over a log learning rate, a stepped dropout, a choice, a conditional width and one
fixed setting, each reporting train_loss, val_loss and val_accuracy for 30 epochs, one
in seven failed and one in five pruned. The script then writes the report and opens it in
headless Chromium three times (a window of 1280 by 900 pixels, --height to change) and times, from navigation
(the first three on the page's own clock, the last on the wall clock):

- text visible: the browser's first contentful paint: the header, the table of contents
  and the first section's text on the screen;
- open: the page loaded (every element parsed, its script run) with every plot that
  shows in the window drawn. This is what the target is about: the first screen
  readable and complete. A plot on it counts, so a first screen that still said
  "drawing the plot…" would not be open. In this study the first screen holds the
  overview and the best-trial card; the optimization history's plot starts just below it;
- first plot drawn: the first plot div holding its SVG (that optimization history,
  drawn ahead because it is within 400 px of the window; any taller window shows it on
  the first screen, and then open is this time, which is mostly plotly.js being run);
- every plot drawn: after scrolling through the page so each plot is drawn.

It prints the report's size, the seconds to build it in Python and these times; the
target is an open under 2 s.
"""

from __future__ import annotations

import argparse
import math
import statistics
import sys
import tempfile
import time
from pathlib import Path

from _machine import load_average, source_state

import tunelab
from tunelab.types import TrialState

CHROMIUM = "/usr/bin/chromium"
EPOCHS = 30
NAME = "bench/report"  # a '/' as seed re-runs name their studies


def trial(study: tunelab.Study, number: int) -> None:
    t = study.ask()
    hp = t.hp
    lr = hp.Float("learning_rate", 1e-5, 1e-1, sampling="log")
    dropout = hp.Float("dropout", 0.0, 0.5, step=0.05)
    optimizer = hp.Choice("optimizer", ["adam", "sgd", "rmsprop"])
    hp.Fixed("batch_size", 64)
    if hp.Int("num_layers", 1, 3) > 1:
        hp.Int("units", 32, 256, step=32)
    if number % 7 == 5:
        study.tell(t, state=TrialState.FAIL, reason="ValueError: synthetic failure")
        return
    quality = 1.0 - 0.12 * abs(math.log10(lr) + 2.5) - 0.2 * abs(dropout - 0.2)
    quality -= {"adam": 0.0, "sgd": 0.05, "rmsprop": 0.02}[optimizer]
    acc = 0.0
    for epoch in range(EPOCHS):
        progress = 1.0 - math.exp(-(epoch + 1) / 6)
        train_loss = 2.3 * (1.0 - 0.95 * quality * progress) + 0.01 * (number % 3)
        acc = 0.1 + 0.85 * quality * progress
        t.report(epoch, train_loss=train_loss, val_loss=train_loss * 1.05, val_accuracy=acc)
        if number % 5 == 3 and epoch == 9:
            study.tell(t, state=TrialState.PRUNED)
            return
    study.tell(t, {"val_accuracy": acc})


def study_at(db: Path, n: int) -> tunelab.Study:
    db.parent.mkdir(parents=True, exist_ok=True)
    study = tunelab.create_study(
        NAME,
        storage=str(db),
        metric="val_accuracy",
        direction="maximize",
        sampler="random",
        seed=0,
        load_if_exists=True,
    )
    have = len(study.trials)
    if have < n:
        start = time.perf_counter()
        for i in range(have, n):
            trial(study, i)
        print(f"generated {n - have} trials in {time.perf_counter() - start:.0f} s")
    return study


SCROLL_THROUGH = """async () => {
  for (const d of document.querySelectorAll('.fig')) {
    d.scrollIntoView();
    await new Promise(r => requestAnimationFrame(() => setTimeout(r, 0)));
  }
}"""
# Injected before the page's own scripts: notes, on the page's clock (ms from navigation),
# when each plot div first holds its SVG (a mutation callback runs right after the draw).
RECORD_DRAWS = """window.__drawn = {};
new MutationObserver(() => {
  for (const d of document.querySelectorAll('.fig')) {
    if (!(d.id in window.__drawn) && d.querySelector('svg.main-svg')) {
      window.__drawn[d.id] = performance.now();
    }
  }
}).observe(document, {childList: true, subtree: true});"""
# Every plot that shows in the window is drawn (plots just below it, within the report's
# 400 px margin, are drawn ahead too, but a reader does not wait for them).
IN_WINDOW = """() => [...document.querySelectorAll('.fig')].filter(d => {
  const r = d.getBoundingClientRect();
  return r.top < innerHeight && r.bottom > 0;
}).map(d => d.id)"""
ON_SCREEN_DRAWN = f"() => ({IN_WINDOW})().every(id => id in window.__drawn)"
FIRST_DRAWN = "() => Object.keys(window.__drawn).length > 0"
# Seconds from navigation, on the page's clock: first contentful paint, open (the load
# event, the first paint and every plot in the window drawn, whichever is last), first plot.
PAGE_TIMES = f"""() => {{
  const paint = performance.getEntriesByName('first-contentful-paint')[0].startTime;
  const load = performance.getEntriesByType('navigation')[0].loadEventEnd;
  const shown = ({IN_WINDOW})().map(id => window.__drawn[id]);
  return [paint, Math.max(paint, load, ...shown), Math.min(...Object.values(window.__drawn))]
    .map(t => t / 1000);
}}"""
ALL_DRAWN = (
    "() => [...document.querySelectorAll('.fig')].every(d => d.querySelector('svg.main-svg'))"
)


def open_times(path: Path, runs: int, height: int) -> list[tuple[float, float, float, float]]:
    """(seconds until the first paint with text, until the page is loaded with the plots
    in its window drawn, until the first plot is drawn, until every plot is drawn as the
    reader scrolls through) per run."""
    from playwright.sync_api import sync_playwright

    times = []
    errors: list[str] = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True)
        for _ in range(runs):
            page = browser.new_page(viewport={"width": 1280, "height": height})
            page.on("pageerror", lambda e: errors.append(str(e)))
            page.add_init_script(RECORD_DRAWS)
            start = time.perf_counter()
            page.goto(path.as_uri())  # returns at the load event
            page.wait_for_function(ON_SCREEN_DRAWN, timeout=120_000, polling=20)
            page.wait_for_function(FIRST_DRAWN, timeout=120_000, polling=20)
            text, first, plot = page.evaluate(PAGE_TIMES)
            page.evaluate(SCROLL_THROUGH)
            page.wait_for_function(ALL_DRAWN, timeout=120_000, polling=20)
            times.append((text, first, plot, time.perf_counter() - start))
            figures = page.evaluate("document.querySelectorAll('.fig').length")
            if errors:
                sys.exit(f"the report raised errors in the browser: {errors[:3]}")
            page.close()
        browser.close()
    print(f"{figures} figures")
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("db", nargs="?", default="/tmp/tunelab-bench/report_open.db")
    parser.add_argument("--trials", type=int, default=1000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--height", type=int, default=900, help="window height in pixels")
    args = parser.parse_args()
    from tunelab.report import write_report

    study = study_at(Path(args.db), args.trials)
    print(f"tunelab from {Path(tunelab.__file__).parent}; {source_state()}; {load_average()}")
    with tempfile.TemporaryDirectory() as folder:
        out = Path(folder) / "report.html"
        start = time.perf_counter()
        write_report(study, out)
        built = time.perf_counter() - start
        size = out.stat().st_size / 1e6
        print(f"{len(study.trials)} trials: report {size:.1f} MB, built in {built:.2f} s")
        times = open_times(out, args.runs, args.height)
    for what, k in (
        ("text visible (first contentful paint)", 0),
        ("open (loaded, plots in the window drawn)", 1),
        ("first plot drawn", 2),
        ("every plot drawn", 3),
    ):
        values = [t[k] for t in times]
        shown = ", ".join(f"{t:.2f}" for t in values)
        print(f"{what}: median {statistics.median(values):.2f} s ({shown})")


if __name__ == "__main__":
    main()
