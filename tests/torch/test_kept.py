"""Kept models: real studies in SQLite files keep the best trials' weights as safetensors
files, bound how many remain, and `load_best` rebuilds those models exactly."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
import torch
from torch import nn

import tunelab
from tunelab import TrialPruned, TrialState
from tunelab.errors import ConfigurationError, ConfigurationTypeError
from tunelab.torch import TrainingError, load_best
from tunelab.torch.kept import check_keep_models, prepare_folder, save_best_weights

X = torch.linspace(-1, 1, 12).reshape(4, 3)


def build(hp) -> nn.Module:
    width = hp.Int("width", 2, 8)
    return nn.Sequential(nn.Linear(3, width), nn.Tanh(), nn.Linear(width, 1))


def trained(trial) -> nn.Module:
    """The trial's model after one real SGD step; its outputs on X kept on the trial."""
    torch.manual_seed(trial.number)
    model = build(trial.hp)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    model(X).pow(2).mean().backward()
    optimizer.step()
    trial.set_user_attr("outputs", model(X).detach().flatten().tolist())
    return model


def score(number: int) -> float:
    """A value per trial number, all different and not in number order."""
    return (number * 5) % 8 / 10


def keeping(keep: int = 3, artifacts: Path | None = None):
    def objective(trial):
        folder = prepare_folder(trial, artifacts)
        model = trained(trial)
        save_best_weights(trial, folder, model.state_dict(), keep, epoch=0)
        return score(trial.number)

    return objective


def study_in(tmp_path: Path, name: str = "kept", **kwargs) -> tunelab.Study:
    options = {"metric": "loss", "direction": "minimize", **kwargs}
    return tunelab.create_study(
        name, storage=str(tmp_path / "tl.db"), sampler="random", seed=0, **options
    )


def kept_numbers(root: Path) -> set[int]:
    return {int(p.parent.name.split("-")[1]) for p in root.glob("trial-*/best.safetensors")}


def outputs_of(model: nn.Module) -> list[float]:
    with torch.no_grad():
        return model(X).flatten().tolist()


def snapshot(study: tunelab.Study, root: Path) -> tuple:
    """What bad input must leave as it was: the stored trials and the kept files."""
    files = {p: p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}
    return [(t.state, dict(t.user_attrs)) for t in study.trials], files


@pytest.mark.parametrize("direction", ["minimize", "maximize"])
def test_the_best_trials_keep_their_weights_and_load_best_rebuilds_them(tmp_path, direction):
    study = study_in(tmp_path, direction=direction)
    study.optimize(keeping(3), n_trials=8, catch=())

    root = tmp_path / "tl-artifacts" / "kept"  # beside the SQLite file, per study
    best = study.top_trials(3)
    ranked = sorted(range(8), key=score, reverse=direction == "maximize")
    assert [t.number for t in best] == ranked[:3]
    assert kept_numbers(root) == set(ranked[:3])
    assert not list(root.glob("trial-*/.*partial"))  # every write was whole
    for k, trial in enumerate(best):
        model = load_best(study, build, k)
        assert not model.training
        assert outputs_of(model) == trial.user_attrs["outputs"]
        assert model[0].out_features == trial.params["width"]
    by_number = load_best(study, build, trial=ranked[1])
    assert outputs_of(by_number) == best[1].user_attrs["outputs"]


def test_the_weights_file_names_its_study_trial_and_parameters(tmp_path):
    from safetensors import safe_open

    study = study_in(tmp_path, name="runs/a b")  # a name that is no folder name
    study.optimize(keeping(1), n_trials=1, catch=())
    (trial,) = study.trials
    (path,) = (tmp_path / "tl-artifacts").glob("*/trial-0/best.safetensors")
    assert path.parent.parent.name.startswith("runs_a_b-")
    with safe_open(str(path), framework="pt") as f:
        meta = f.metadata()
        assert all(f.get_tensor(name).device.type == "cpu" for name in f.keys())  # noqa: SIM118
    assert meta["tunelab.study"] == "runs/a b" and meta["tunelab.trial"] == "0"
    assert json.loads(meta["tunelab.params"]) == dict(trial.params)
    assert trial.user_attrs["kept_weights"]["path"] == str(path)
    assert trial.user_attrs["kept_weights"]["keep_models"] == 1


def test_pruned_and_failed_trials_lose_their_weights_and_an_explicit_root_is_used(tmp_path):
    root = tmp_path / "weights"

    def objective(trial):
        value = keeping(2, root)(trial)
        if trial.number % 3 == 1:
            raise TrialPruned()
        if trial.number % 3 == 2:
            raise RuntimeError("this configuration breaks")
        return value

    study = study_in(tmp_path)
    study.optimize(objective, n_trials=7)
    complete = [t.number for t in study.trials if t.state is TrialState.COMPLETE]
    assert complete == [0, 3, 6]
    assert kept_numbers(root) == {t.number for t in study.top_trials(2)}
    assert not (tmp_path / "tl-artifacts").exists()
    assert sorted(p.name for p in root.iterdir()) == ["trial-0", "trial-6"]  # empty ones go


def test_several_objectives_keep_the_front_by_its_ranking(tmp_path):
    values = [(1, 5), (2, 2), (5, 1), (3, 3), (4, 4), (6, 6)]  # front: trials 0, 1, 2

    def objective(trial):
        keeping(2)(trial)
        return values[trial.number]

    study = study_in(tmp_path, metric=None, metrics=["a", "b"], directions=["min", "min"])
    study.optimize(objective, n_trials=len(values), catch=())
    root = tmp_path / "tl-artifacts" / "kept"
    assert kept_numbers(root) == {0, 2}  # the front's ends: largest crowding distance
    assert [t.number for t in study.top_trials(2)] == [0, 2]
    assert outputs_of(load_best(study, build, 1)) == study.trials[2].user_attrs["outputs"]


def _count_at_start(trial):
    """Each trial notes how many weights files exist as it starts, then keeps its own."""
    root = trial.artifact_dir(create=False).parent
    trial.set_user_attr("files_at_start", len(list(root.glob("trial-*/best.safetensors"))))
    return keeping(3)(trial)


@pytest.mark.slow
def test_two_worker_processes_keep_the_bound(tmp_path):
    study = study_in(tmp_path)
    study.optimize(_count_at_start, n_trials=14, n_jobs=2)
    assert all(t.state is TrialState.COMPLETE for t in study.trials)
    root = tmp_path / "tl-artifacts" / "kept"
    assert kept_numbers(root) == {t.number for t in study.top_trials(3)}
    # at most the best 3, the other worker's running trial, and one whose end was being stored
    assert max(t.user_attrs["files_at_start"] for t in study.trials) <= 3 + 2
    for k in range(3):
        assert (
            outputs_of(load_best(study, build, k)) == study.top_trials(3)[k].user_attrs["outputs"]
        )


def test_a_folder_that_is_not_writable_stops_before_anything_is_stored(tmp_path):
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    study = study_in(tmp_path)
    trial = study.ask()
    with pytest.raises(
        TrainingError, match=r"a-file/trial-0.* is not writable.*artifacts=.*keep_models=0"
    ):
        prepare_folder(trial, blocker)
    with pytest.raises(TrainingError, match="artifacts must be a folder path"):
        prepare_folder(trial, 42)  # type: ignore[arg-type]
    (stored,) = study.trials
    assert stored.state is TrialState.RUNNING and not stored.user_attrs
    assert blocker.read_text() == "not a folder"


@pytest.mark.parametrize("bad", [-1, True, 1.5, "3", None])
def test_keep_models_must_be_a_count(bad):
    with pytest.raises(TrainingError, match=r"keep_models must be an int >= 0.*but got"):
        check_keep_models(bad)


def test_weights_that_are_not_tensors_are_refused_and_nothing_is_written(tmp_path):
    study = study_in(tmp_path)
    trial = study.ask()
    folder = prepare_folder(trial, None)
    with pytest.raises(TrainingError, match="entry 'scale' is a float, not a tensor"):
        save_best_weights(trial, folder, {"w": torch.ones(2), "scale": 2.0}, 3)
    with pytest.raises(TrainingError, match="needs keep_models >= 1"):
        save_best_weights(trial, folder, {"w": torch.ones(2)}, 0)
    assert list(folder.iterdir()) == []
    assert not study.trials[0].user_attrs


@pytest.fixture
def kept_study(tmp_path) -> tunelab.Study:
    """Eight trials, three of which keep their weights."""
    study = study_in(tmp_path)
    study.optimize(keeping(3), n_trials=8, catch=())
    return study


def test_load_best_on_a_study_without_kept_weights(tmp_path):
    study = study_in(tmp_path, name="plain")
    study.optimize(lambda t: float(t.hp.Int("width", 2, 8)), n_trials=2)
    with pytest.raises(TrainingError, match=r"has no kept weights: fit\(..., keep_models=3\)"):
        load_best(study, build)


def test_load_best_refuses_bad_choices_and_changes_nothing(kept_study, tmp_path):
    root = tmp_path / "tl-artifacts" / "kept"
    before = snapshot(kept_study, root)
    best = [t.number for t in kept_study.top_trials(3)]
    gone = next(t.number for t in kept_study.trials if t.number not in best)
    kept_now = re.escape(f"kept now: trials {best}, best first")
    with pytest.raises(TrainingError, match=rf"k=3 is out of range.*below 3; {kept_now}"):
        load_best(kept_study, build, 3)
    with pytest.raises(TrainingError, match=rf"weights of trial {gone} are gone.*keep_models=3"):
        load_best(kept_study, build, trial=gone)
    with pytest.raises(TrainingError, match="has no trial 99"):
        load_best(kept_study, build, trial=99)
    with pytest.raises(ConfigurationError, match="k or trial, not both"):
        load_best(kept_study, build, 1, trial=best[0])
    with pytest.raises(ConfigurationTypeError, match="k as an int >= 0"):
        load_best(kept_study, build, -1)
    with pytest.raises(ConfigurationError, match="'not a device' is not a device"):
        load_best(kept_study, build, device="not a device")
    with pytest.raises(TrainingError, match="this machine has no CUDA device"):
        load_best(kept_study, build, device="cuda:0")
    assert snapshot(kept_study, root) == before


def test_a_model_that_no_longer_matches_its_weights_names_the_tensor(kept_study, tmp_path):
    root = tmp_path / "tl-artifacts" / "kept"
    before = snapshot(kept_study, root)
    best = kept_study.top_trials(1)[0]
    width = best.params["width"]

    def wider(hp):
        hp.Int("width", 2, 8)
        return nn.Sequential(nn.Linear(3, 9), nn.Tanh(), nn.Linear(9, 1))

    shapes = rf"'0.weight' has shape \(9, 3\) in the model but \({width}, 3\) in"
    with pytest.raises(TrainingError, match=shapes):
        load_best(kept_study, wider)

    def renamed(hp):
        return nn.Sequential(nn.Linear(3, hp.Int("width", 2, 8)), nn.Tanh())

    with pytest.raises(TrainingError, match=r"lacks '2.bias', '2.weight', which .* holds"):
        load_best(kept_study, renamed)
    with pytest.raises(TrainingError, match=r"must return a torch\.nn\.Module"):
        load_best(kept_study, lambda hp: "a model")  # type: ignore[arg-type, return-value]
    assert snapshot(kept_study, root) == before


def test_a_damaged_or_foreign_weights_file_is_one_clear_line(kept_study, tmp_path):
    best = kept_study.top_trials(2)
    first = Path(best[0].user_attrs["kept_weights"]["path"])
    first.write_bytes(b"\x08\x00\x00\x00\x00\x00\x00\x00{not json")
    with pytest.raises(
        TrainingError, match=rf"cannot read the kept weights of trial {best[0].number}.*damaged"
    ):
        load_best(kept_study, build)
    shared = tmp_path / "shared"
    other = study_in(tmp_path, name="other")  # a second study, its files where ours are
    other.optimize(keeping(3, shared), n_trials=1, catch=())
    foreign = (shared / "trial-0" / "best.safetensors").read_bytes()
    Path(best[1].user_attrs["kept_weights"]["path"]).write_bytes(foreign)
    with pytest.raises(
        TrainingError,
        match=r"study 'other' trial 0, not of study 'kept'.*share one artifacts folder",
    ):
        load_best(kept_study, build, 1)


def test_lazy_modules_take_their_shapes_from_the_weights(tmp_path):
    def lazy(hp):
        return nn.Sequential(nn.LazyLinear(hp.Int("width", 2, 8)), nn.Tanh(), nn.LazyLinear(1))

    def objective(trial):
        folder = prepare_folder(trial, None)
        torch.manual_seed(0)
        model = lazy(trial.hp)
        trial.set_user_attr("outputs", outputs_of(model))
        save_best_weights(trial, folder, model.state_dict(), 1)
        return 0.0

    study = study_in(tmp_path)
    study.optimize(objective, n_trials=1, catch=())
    assert outputs_of(load_best(study, lazy)) == study.trials[0].user_attrs["outputs"]


def test_a_folder_that_went_away_during_training_is_one_clear_line(tmp_path):
    study = study_in(tmp_path)
    trial = study.ask()
    folder = prepare_folder(trial, tmp_path / "gone")
    folder.rmdir()
    with pytest.raises(TrainingError, match=r"cannot write .*gone/trial-0/best.safetensors"):
        save_best_weights(trial, folder, {"w": torch.ones(2)}, 3)
    assert not study.trials[0].user_attrs


def test_tied_weights_are_kept_and_reload(tmp_path):
    def tied(hp):
        width = hp.Int("width", 2, 8)
        model = nn.Sequential(nn.Linear(width, width, bias=False), nn.Linear(width, width))
        model[1].weight = model[0].weight  # one tensor under two names
        return model

    def objective(trial):
        torch.manual_seed(1)
        model = tied(trial.hp)
        x = torch.ones(2, trial.params["width"])
        trial.set_user_attr("outputs", model(x).detach().flatten().tolist())
        save_best_weights(trial, prepare_folder(trial, None), model.state_dict(), 1)
        return 0.0

    study = study_in(tmp_path)
    study.optimize(objective, n_trials=1, catch=())
    model = load_best(study, tied)
    x = torch.ones(2, study.trials[0].params["width"])
    assert model(x).detach().flatten().tolist() == study.trials[0].user_attrs["outputs"]
    assert model[1].weight is model[0].weight
