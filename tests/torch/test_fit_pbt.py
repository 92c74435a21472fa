"""fit(..., checkpoint="last") under scheduler="pbt" and "pb2", real training on the bundled digits:
a bottom trial goes on from a copy of a top trial's weights (its first evaluation after
the exploit equals the parent's) and trains with the new learning rate and weight decay."""

from __future__ import annotations

import pytest
import torch
from torch import nn

import tunelab
from tunelab import TrialState
from tunelab.schedulers import PB2Scheduler, PBTScheduler
from tunelab.study.pbt import schedule_of
from tunelab.torch import fit, load_checkpoint, load_digits

SETTINGS = dict(optimizer="adam", batch_size=128, lr_schedule="constant", patience=50, epochs=3)


@pytest.mark.parametrize("kind", [PBTScheduler, PB2Scheduler])
def test_exploit_copies_the_weights_and_the_values_take_effect(tmp_path, kind):
    digits = load_digits()
    loaded: dict[tuple[int, int], float] = {}  # (trial, resumes) -> accuracy of its start

    def objective(trial: tunelab.Trial) -> float:
        model = nn.Sequential(nn.Linear(64, 10))
        if trial.resume_from is not None:  # evaluate the weights it goes on from, untrained
            state = load_checkpoint(trial.resume_from)
            probe = nn.Sequential(nn.Linear(64, 10))
            probe.load_state_dict(state["model"])
            with torch.no_grad():
                hits = (probe(digits.x_val).argmax(1) == digits.y_val).float().mean()
            loaded[(trial.number, trial.resumes)] = float(hits)
        return fit(
            model,
            digits,
            trial,
            seed=trial.number,
            keep_models=0,
            checkpoint="last",
            artifacts=tmp_path,
            **SETTINGS,
        )

    study = tunelab.create_study(
        "pbt",
        storage=":memory:",
        direction="maximize",
        scheduler=kind(population_size=4, interval=1),
    )
    for lr in (1e-4, 1.2e-4, 2e-2, 3e-2):  # two trials that barely learn
        study.enqueue({"learning_rate": lr, "weight_decay": 0.0})
    study.optimize(objective, n_trials=4)
    trials = {t.number: t for t in study.trials}
    assert all(t.state is TrialState.COMPLETE for t in trials.values())
    exploits = [(t, e) for t in trials.values() for e in schedule_of(t)[1:]]
    assert exploits
    for child, entry in exploits:
        step, parent = entry["step"], trials[entry["parent"]]
        resumes = next(r for r in range(1, 10) if (child.number, r) in loaded and step == r)
        # the child's first evaluation after the exploit is the parent's at that step
        parents = parent.reports[step - 1].metrics["val_accuracy"]
        assert loaded[(child.number, resumes)] == pytest.approx(parents, abs=1e-6)
        # and it trains on with the new values: fit's lr, the optimizer's weight decay
        assert child.reports[step].metrics["lr"] == entry["params"]["learning_rate"]
    last = load_checkpoint(trials[exploits[-1][0].number].system_attrs["checkpoint"])
    (group,) = last["optimizer"]["param_groups"]
    assert group["weight_decay"] == trials[exploits[-1][0].number].params["weight_decay"]
