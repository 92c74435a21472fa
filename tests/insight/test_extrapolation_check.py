"""extrapolation_check: the curve model judged on a study's own complete trials."""

from __future__ import annotations

import json
import re

import pytest

from training_studies import rising, study_of
from tunelab.insight import InsightError, extrapolation_check

E = 20


def test_a_study_of_smooth_curves_is_predicted_well_and_no_winner_would_be_stopped() -> None:
    curves = [rising(0.6 + 0.03 * i, 0.15 + 0.05 * (i % 5)) for i in range(12)]
    curves += [[0.3] * E, [0.25] * E]  # flat losers, stopped by the scheduler
    study = study_of(curves, {"name": "extrapolate", "min_resource": 3})
    check = extrapolation_check(study)
    # trial 10 (ends at 0.860, below trial 9's 0.869) and the two flat ones are stopped
    assert [s.number for s in check.stopped] == [10, 12, 13]
    assert check.stopped[1].predicted is not None and check.stopped[1].predicted < 0.4
    assert check.final_step == E - 1 and check.checked == 11 and check.step == 2
    assert check.covered >= 8
    assert check.wrongly_stopped == ()
    assert "80% intervals held" in check.text() and "#12 stopped at step 2 at 0.3" in check.text()
    assert json.loads(json.dumps(check.to_dict()))["checked"] == 11


def test_a_trial_that_jumps_at_the_end_is_reported_as_one_the_rule_would_wrongly_stop() -> None:
    curves = [rising(0.6 + 0.02 * i, 0.3) for i in range(10)]
    jumper = [0.2] * (E - 3) + [0.5, 0.8, 0.99]  # flat, then better than everyone
    study = study_of([*curves, jumper])
    check = extrapolation_check(study, step=5)
    assert check.wrongly_stopped == (10,)
    assert "would have stopped trial(s) #10" in check.text()


def test_too_few_complete_trials_is_one_clear_line() -> None:
    study = study_of([rising(0.8, 0.3)] * 4)
    with pytest.raises(InsightError, match=r"needs 9 complete trials .* has 4: run more trials"):
        extrapolation_check(study)


def test_show_prints_how_the_curve_model_fared(tmp_path: object) -> None:
    from click.testing import CliRunner

    from tunelab.cli.main import cli

    url = f"sqlite:///{tmp_path}/s.db"  # type: ignore[str-bytes-safe]
    curves = [rising(0.6 + 0.03 * i, 0.15 + 0.05 * (i % 5)) for i in range(12)] + [[0.3] * E]
    study_of(curves, "extrapolate", url)
    result = CliRunner().invoke(cli, ["show", "ex", "--storage", url], env={"COLUMNS": "100"})
    assert result.exit_code == 0, result.output
    assert "curve model on 11 complete trials" in result.output
    said = " ".join(result.output.split())
    assert re.search(r"#12 stopped at step 2 at 0\.3: predicted 0\.(3\b|29\d*)", said), said
