"""MLflow, TensorBoard and W&B callbacks on a real study, their output read back with each
library's own reader (W&B's offline .wandb file with a small reader of its record log)."""

from __future__ import annotations

import concurrent.futures
import json
import logging
import multiprocessing
import struct
import sys
from pathlib import Path
from typing import Any

import pytest

import tunelab
from tunelab.integrations import MLflowCallback, TensorBoardCallback, WandbCallback


def objective(trial: tunelab.Trial) -> dict[str, float]:
    """Trial 0 completes, 1 is pruned, 2 fails; each reports `loss` at steps 0..2."""
    x = trial.hp.Float("x", -2.0, 2.0)
    trial.hp.Choice("kind", ["a", "b"])
    trial.set_user_attr("note", {"n": trial.number})
    for step in range(3):
        trial.report(step, loss=(x - 1) ** 2 + 1 / (step + 1))
    if trial.number == 1:
        raise tunelab.TrialPruned("pruned at step 2")
    if trial.number == 2:
        raise ValueError("boom")
    return {"loss": (x - 1) ** 2, "width": 3.0}


def run_study(callback: Any, name: str = "trackers") -> tunelab.Study:
    study = tunelab.create_study(
        name,
        storage=tunelab.InMemoryStorage(),
        metric="loss",
        direction="minimize",
        sampler="random",
        seed=0,
    )
    study.optimize(objective, n_trials=3, callbacks=[callback])
    return study


def reported(study: tunelab.Study, number: int) -> dict[int, float]:
    return study.trials[number].intermediate("loss")


# -- MLflow --------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def mlflow_uri(tmp_path_factory: pytest.TempPathFactory) -> Any:
    """One local file store for the module. MLflow 3 keeps it in maintenance and asks for
    MLFLOW_ALLOW_FILE_STORE; its default SQLite store runs ~70 schema migrations on
    creation (seconds), and MLflowCallback writes both through the same MlflowClient."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("MLFLOW_ALLOW_FILE_STORE", "true")
        yield f"file:{tmp_path_factory.mktemp('mlflow')}/mlruns"


@pytest.mark.slow
def test_mlflow_records_one_run_per_trial(mlflow_uri: str) -> None:
    from mlflow import MlflowClient

    study = run_study(MLflowCallback(tracking_uri=mlflow_uri, tags={"team": "vision"}))
    client = MlflowClient(tracking_uri=mlflow_uri)
    experiment = client.get_experiment_by_name("trackers")
    runs = {r.info.run_name: r for r in client.search_runs([experiment.experiment_id])}
    assert sorted(runs) == ["trial-0", "trial-1", "trial-2"]
    done, pruned, failed = runs["trial-0"], runs["trial-1"], runs["trial-2"]
    assert (done.info.status, pruned.info.status, failed.info.status) == (
        "FINISHED",
        "KILLED",
        "FAILED",
    )
    best = study.trials[0]
    assert done.data.params == {"x": str(best.params["x"]), "kind": best.params["kind"]}
    assert done.data.metrics == {"loss": best.value, "width": 3.0}  # latest: the result
    assert done.data.tags["tunelab.study"] == "trackers"
    assert done.data.tags["tunelab.trial"] == "0" and done.data.tags["team"] == "vision"
    assert done.data.tags["tunelab.state"] == "COMPLETE"
    assert json.loads(done.data.tags["user.note"]) == {"n": 0}
    assert pruned.data.tags["tunelab.end_cause"] == "PRUNED"
    assert pruned.data.tags["tunelab.reason"] == "pruned at step 2"
    assert failed.data.tags["tunelab.state"] == "FAIL"
    assert failed.data.tags["tunelab.reason"].startswith("ValueError: boom")
    history = client.get_metric_history(failed.info.run_id, "loss")
    assert {m.step: m.value for m in history} == reported(study, 2)
    assert done.info.start_time == int(best.datetime_start * 1000)
    curve = client.get_metric_history(done.info.run_id, "loss")
    steps = sorted((m.step, m.timestamp, m.value) for m in curve)
    assert [(s, v) for s, _, v in steps] == [*reported(study, 0).items(), (2, best.value)]


def test_mlflow_experiment_can_be_named_and_shared(mlflow_uri: str) -> None:
    from mlflow import MlflowClient

    callback = MLflowCallback(tracking_uri=mlflow_uri, experiment="shared")
    run_study(callback, name="first")
    run_study(callback, name="second")
    client = MlflowClient(tracking_uri=mlflow_uri)
    runs = client.search_runs([client.get_experiment_by_name("shared").experiment_id])
    assert sorted(r.data.tags["tunelab.study"] for r in runs) == ["first"] * 3 + ["second"] * 3
    assert callback.missed == 0


def test_mlflow_run_it_cannot_finish_is_marked_failed_not_left_running(
    mlflow_uri: str, caplog: pytest.LogCaptureFixture
) -> None:
    from mlflow import MlflowClient

    def path_like(trial: tunelab.Trial) -> float:
        trial.report(0, **{"val/../loss": 2.0})  # MLflow refuses a name that is not a path
        return 1.0

    callback = MLflowCallback(tracking_uri=mlflow_uri, experiment="too long")
    study = tunelab.create_study("long", storage=tunelab.InMemoryStorage(), metric="loss")
    with caplog.at_level(logging.WARNING, logger="tunelab"):
        study.optimize(path_like, n_trials=1, callbacks=[callback])
    assert study.trials[0].state is tunelab.TrialState.COMPLETE and callback.missed == 1
    assert any("MLflowCallback could not record trial 0" in r.getMessage() for r in caplog.records)
    client = MlflowClient(tracking_uri=mlflow_uri)
    (run,) = client.search_runs([client.get_experiment_by_name("too long").experiment_id])
    assert run.info.status == "FAILED" and run.data.tags["tunelab.state"] == "COMPLETE"


# -- TensorBoard ---------------------------------------------------------------------------
def read_events(run: Path) -> Any:
    from tensorboard.backend.event_processing import event_accumulator as ea

    events = ea.EventAccumulator(str(run), size_guidance={ea.TENSORS: 0})
    events.Reload()
    return events


def test_tensorboard_writes_scalars_and_hparams_sessions(tmp_path: Path) -> None:
    from tensorboard.plugins.hparams import api_pb2, metadata
    from tensorboard.util.tensor_util import make_ndarray

    study = run_study(TensorBoardCallback(tmp_path / "tb"), name="tb study")
    runs = sorted(p.name for p in (tmp_path / "tb" / "tb_study").iterdir())
    assert runs == ["trial-0", "trial-1", "trial-2"]
    statuses = []
    for number in range(3):
        events = read_events(tmp_path / "tb" / "tb_study" / f"trial-{number}")
        loss = [(e.step, float(make_ndarray(e.tensor_proto))) for e in events.Tensors("loss")]
        curve = reported(study, number)
        assert [s for s, _ in loss[:3]] == [0, 1, 2]
        assert [v for _, v in loss[:3]] == pytest.approx(list(curve.values()), rel=1e-6)
        plugin = events.PluginTagToContent(metadata.PLUGIN_NAME)
        start = metadata.parse_session_start_info_plugin_data(
            plugin[metadata.SESSION_START_INFO_TAG]
        )
        params = study.trials[number].params
        assert start.hparams["x"].number_value == pytest.approx(params["x"])
        assert start.hparams["kind"].string_value == params["kind"]
        assert start.group_name == f"tb_study/trial-{number}"
        end = metadata.parse_session_end_info_plugin_data(plugin[metadata.SESSION_END_INFO_TAG])
        statuses.append(end.status)
    assert statuses == [api_pb2.STATUS_SUCCESS, api_pb2.STATUS_SUCCESS, api_pb2.STATUS_FAILURE]
    pruned = read_events(tmp_path / "tb" / "tb_study" / "trial-1").Tensors("tunelab/trial")
    about = make_ndarray(pruned[0].tensor_proto).item().decode()
    assert (
        "| tunelab.state | PRUNED |" in about and "| tunelab.reason | pruned at step 2 |" in about
    )
    done = read_events(tmp_path / "tb" / "tb_study" / "trial-0")
    result = [float(make_ndarray(e.tensor_proto)) for e in done.Tensors("loss")][-1]
    assert result == pytest.approx(study.trials[0].value, rel=1e-6)  # latest: the result
    assert [e.step for e in done.Tensors("width")] == [2]
    assert "width" not in read_events(tmp_path / "tb" / "tb_study" / "trial-2").Tags()["tensors"]


# -- Weights & Biases ----------------------------------------------------------------------
def wandb_records(path: Path) -> list[Any]:
    """The records of an offline run's .wandb file: a 7-byte header, then LevelDB's log
    format (32 KiB blocks of chunks: crc32c, length, type; FULL=1 FIRST=2 MIDDLE=3 LAST=4)."""
    from wandb.proto import wandb_internal_pb2

    data = path.read_bytes()
    assert data[:4] == b":W&B"
    records, pending, at = [], b"", 7
    while at + 7 <= len(data):
        if (at % 32768) + 7 > 32768:  # too little of the block left for a header: padding
            at += 32768 - at % 32768
            continue
        _, length, kind = struct.unpack("<IHB", data[at : at + 7])
        if kind == 0 and length == 0:
            at += 32768 - at % 32768
            continue
        pending += data[at + 7 : at + 7 + length]
        at += 7 + length
        if kind in (1, 4):
            record = wandb_internal_pb2.Record()
            record.ParseFromString(pending)
            records.append(record)
            pending = b""
    return records


def wandb_run(folder: Path) -> dict[str, Any]:
    """What an offline run holds: name, group, project, tags, config, history, summary, exit."""
    (file,) = folder.glob("run-*.wandb")
    out: dict[str, Any] = {"config": {}, "history": [], "summary": {}}
    for record in wandb_records(file):
        kind = record.WhichOneof("record_type")
        if kind == "run":
            out.update(
                name=record.run.display_name,
                group=record.run.run_group,
                project=record.run.project,
                tags=list(record.run.tags),
            )
            for item in record.run.config.update:
                out["config"][item.key] = json.loads(item.value_json)
        elif kind == "config":
            for item in record.config.update:
                out["config"][item.key] = json.loads(item.value_json)
        elif kind == "history":
            out["history"].append({_key(i): json.loads(i.value_json) for i in record.history.item})
        elif kind == "summary":
            for item in record.summary.update:
                out["summary"][_key(item)] = json.loads(item.value_json)
        elif kind == "exit":
            out["exit_code"] = record.exit.exit_code
    return out


def _key(item: Any) -> str:
    return item.key or "/".join(item.nested_key)


@pytest.fixture
def wandb_offline(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Any:
    """W&B in offline mode, its settings kept in tmp_path; its service process is ended
    after the test."""
    import wandb

    for name in ("WANDB_PROJECT", "WANDB_MODE", "WANDB_DIR", "WANDB_API_KEY"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("WANDB_CONFIG_DIR", str(tmp_path / "wandb-config"))
    monkeypatch.setenv("WANDB_CACHE_DIR", str(tmp_path / "wandb-cache"))
    monkeypatch.setenv("WANDB_DATA_DIR", str(tmp_path / "wandb-data"))
    yield wandb
    wandb.teardown()


def _wandb_study(folder: str) -> dict[str, Any]:
    """Run the study with W&B in a process of its own (spawned): W&B leaves threads and
    fork handlers behind in the process that used it, and later tests fork this one."""
    import psutil
    import wandb

    callback = WandbCallback(mode="offline", dir=folder, tags=["nightly"])
    study = run_study(callback)
    wandb.teardown()
    return {
        "left": [p.pid for p in psutil.Process().children(recursive=True) if p.is_running()],
        "missed": callback.missed,
        "trials": [
            {"params": dict(t.params), "reported": reported(study, t.number), "value": t.value}
            for t in study.trials
        ],
    }


def test_wandb_offline_records_one_run_per_trial_in_the_study_group(
    tmp_path: Path, wandb_offline: Any
) -> None:
    spawn = multiprocessing.get_context("spawn")
    with concurrent.futures.ProcessPoolExecutor(1, mp_context=spawn) as pool:
        study = pool.submit(_wandb_study, str(tmp_path / "wb")).result(timeout=120)
    folders = sorted((tmp_path / "wb" / "wandb").glob("offline-run-*"))
    runs = {r["name"]: r for r in map(wandb_run, folders)}
    assert sorted(runs) == ["trial-0", "trial-1", "trial-2"] and study["missed"] == 0
    for number, state in enumerate(["COMPLETE", "PRUNED", "FAIL"]):
        run = runs[f"trial-{number}"]
        trial = study["trials"][number]
        assert run["group"] == "trackers" and run["project"] == "trackers"
        assert run["tags"] == [state, "nightly"]
        assert {k: run["config"][k] for k in trial["params"]} == trial["params"]
        steps = {row["_step"]: row["loss"] for row in run["history"]}
        assert steps == pytest.approx(trial["reported"])
        assert run["summary"]["tunelab/state"] == state
        assert run["summary"]["tunelab/trial"] == str(number)
        assert run["exit_code"] == (1 if state == "FAIL" else 0)
    done = runs["trial-0"]["summary"]
    assert done["loss"] == pytest.approx(study["trials"][0]["value"]) and done["width"] == 3.0
    assert runs["trial-1"]["summary"]["tunelab/reason"] == "pruned at step 2"
    assert study["left"] == []  # W&B's service process ended with wandb.teardown()


# -- bad input -----------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("make", "option"),
    [
        (lambda bad: TensorBoardCallback(bad), "log_dir"),
        (lambda bad: WandbCallback(mode="offline", dir=bad), "dir"),
        (lambda bad: MLflowCallback(tracking_uri=f"sqlite:///{bad}/mlflow.db"), "tracking_uri"),
    ],
)
def test_a_directory_that_cannot_be_made_is_refused_before_any_trial(
    tmp_path: Path, make: Any, option: str
) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("not a directory")
    with pytest.raises(tunelab.ConfigurationError) as caught:
        make(blocker / "logs")
    message = str(caught.value)
    assert "\n" not in message and str(blocker / "logs") in message
    assert f"give {option}= a directory you can write" in message


def test_a_tracker_that_fails_mid_study_warns_once_and_the_study_goes_on(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    callback = TensorBoardCallback(tmp_path / "tb")
    (tmp_path / "tb" / "trackers").write_text("a file where the study's folder goes")
    with caplog.at_level(logging.WARNING, logger="tunelab"):
        study = run_study(callback)
    assert [t.state.value for t in study.trials] == ["COMPLETE", "PRUNED", "FAIL"]
    assert callback.missed == 3
    warnings = [r.getMessage() for r in caplog.records if "could not record" in r.getMessage()]
    assert len(warnings) == 1
    assert warnings[0].startswith("TensorBoardCallback could not record trial 0: ")
    assert "the study goes on" in warnings[0]


@pytest.mark.parametrize(
    ("make", "library", "extra"),
    [
        (lambda: MLflowCallback(), "mlflow", "mlflow"),
        (lambda: TensorBoardCallback("unused"), "tensorboard", "tensorboard"),
        (lambda: WandbCallback(), "wandb", "wandb"),
    ],
)
def test_a_missing_library_is_one_line_naming_the_extra(
    monkeypatch: pytest.MonkeyPatch, make: Any, library: str, extra: str
) -> None:
    monkeypatch.setitem(sys.modules, library, None)  # import fails as if not installed
    with pytest.raises(ImportError) as caught:
        make()
    assert str(caught.value).endswith(
        f"needs {library}, which is not installed: pip install 'tunelab[{extra}]'"
    )


def test_worker_processes_each_record_their_own_trials(tmp_path: Path) -> None:
    callback = TensorBoardCallback(tmp_path / "tb")
    study = tunelab.create_study(
        "jobs", storage=str(tmp_path / "study.db"), metric="loss", sampler="random", seed=0
    )
    study.optimize(tiny, n_trials=4, n_jobs=2, callbacks=[callback])
    folders = sorted(p.name for p in (tmp_path / "tb" / "jobs").iterdir())
    assert folders == [f"trial-{t.number}" for t in study.trials] and len(folders) == 4
    for trial in study.trials:
        events = read_events(tmp_path / "tb" / "jobs" / f"trial-{trial.number}")
        assert [e.step for e in events.Tensors("loss")] == [0, 1, 2, 2]


def tiny(trial: tunelab.Trial) -> float:
    x = trial.hp.Float("x", -2.0, 2.0)
    for step in range(3):
        trial.report(step, loss=x * x + step)
    return x * x


@pytest.mark.slow
def test_mlflow_sqlite_store_made_by_two_worker_processes_at_once(tmp_path: Path) -> None:
    """MLflow's default store: the first client to open the file creates its schema; two
    workers doing it at once broke each other's migrations and lost runs."""
    from mlflow import MlflowClient

    uri = f"sqlite:///{tmp_path}/mlflow.db"
    study = tunelab.create_study(
        "sqlite", storage=str(tmp_path / "study.db"), metric="loss", sampler="random", seed=0
    )
    study.optimize(tiny, n_trials=2, n_jobs=2, callbacks=[MLflowCallback(tracking_uri=uri)])
    client = MlflowClient(tracking_uri=uri)
    runs = client.search_runs([client.get_experiment_by_name("sqlite").experiment_id])
    assert sorted(r.info.run_name for r in runs) == ["trial-0", "trial-1"]
