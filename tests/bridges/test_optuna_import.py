"""`tunelab import-optuna` and `tunelab.optuna.import_study`: real Optuna SQLite files into
tunelab SQLite studies, read back through tunelab and `tunelab show`; and bad input."""

from __future__ import annotations

import math
import sqlite3
import sys
import warnings
from pathlib import Path
from typing import Any

import pytest

optuna = pytest.importorskip("optuna")

import tunelab  # noqa: E402
from tunelab.cli.main import main  # noqa: E402
from tunelab.errors import (  # noqa: E402
    ConfigurationError,
    SearchSpaceError,
    StudyConflictError,
    StudyNotFoundError,
)
from tunelab.optuna import import_study  # noqa: E402
from tunelab.types import TrialState  # noqa: E402

optuna.logging.set_verbosity(optuna.logging.ERROR)


def objective(trial: Any) -> float:
    act = trial.suggest_categorical("act", ["relu", "gelu"])
    lr = trial.suggest_float("lr", 1e-4, 1e-1, log=True)
    drop = trial.suggest_float("drop", 0.0, 0.5, step=0.1)
    units = trial.suggest_int("units", 32, 256, step=32)
    batch = trial.suggest_int("batch", 8, 128, log=True)
    trial.set_user_attr("note", {"tag": act, "sizes": [units, batch]})
    for epoch in range(3):
        trial.report(lr * (epoch + 1), epoch)
    if trial.number == 2:
        raise optuna.TrialPruned()
    if trial.number == 3:
        raise RuntimeError("out of patience")
    return -math.log10(lr) + drop + units / 256 + (act == "gelu")


def _with_mixed_choices(t: Any) -> float:
    return t.suggest_float("x", 0, 1) + (t.suggest_categorical("depth", [None, 3]) or 0)


def _two_objectives(t: Any) -> tuple[float, float]:
    return t.suggest_float("x", 0, 1), t.suggest_int("n", 1, 9)


@pytest.fixture(scope="module")
def optuna_db(tmp_path_factory: pytest.TempPathFactory) -> str:
    """One real Optuna SQLite file (made once: Optuna takes seconds to create one), read
    only by the tests. Study "search": 6 trials, one pruned, one failed, and one left
    running; "mixed": a categorical tunelab cannot hold; "two": a name with two
    distributions; "mo": two named objectives."""
    url = f"sqlite:///{tmp_path_factory.mktemp('optuna') / 'optuna.db'}"
    study = optuna.create_study(
        study_name="search", storage=url, sampler=optuna.samplers.RandomSampler(seed=0)
    )
    study.optimize(objective, n_trials=6, catch=(RuntimeError,))
    study.ask()  # running: not imported
    optuna.create_study(study_name="mixed", storage=url).optimize(_with_mixed_choices, n_trials=3)
    two = optuna.create_study(study_name="two", storage=url)
    two.optimize(lambda t: t.suggest_float("x", 0, 1 + t.number), n_trials=2)
    mo = optuna.create_study(study_name="mo", storage=url, directions=["minimize", "maximize"])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
        mo.set_metric_names(["loss", "accuracy"])
    mo.optimize(_two_objectives, n_trials=4)
    return url


def test_the_trials_arrive_with_params_values_states_curves_and_attrs(
    optuna_db: str, tmp_path: Path
) -> None:
    target = str(tmp_path / "tunelab.db")
    import_study(optuna_db, "search", storage=target)
    source = optuna.load_study(study_name="search", storage=optuna_db)
    study = tunelab.load_study("search", target)
    assert (study.metric, study.direction.value) == ("value", "minimize")
    trials = study.trials
    assert len(trials) == 6
    for record, trial in zip(source.trials[:6], trials, strict=True):
        assert trial.state.value == record.state.name
        assert dict(trial.params) == pytest.approx(record.params)  # 0.3, not 0.30000000000000004
        assert {r.step: r.metrics["value"] for r in trial.reports} == record.intermediate_values
        assert trial.user_attrs["optuna_number"] == record.number
        assert trial.user_attrs["note"] == record.user_attrs["note"]
        assert trial.user_attrs["optuna_datetime_start"] == record.datetime_start.isoformat()
        if record.state is optuna.trial.TrialState.COMPLETE:
            assert trial.value == pytest.approx(record.value)
    assert trials[2].state is TrialState.PRUNED
    assert trials[2].value == pytest.approx(trials[2].params["lr"] * 3)  # its last report
    assert trials[3].state is TrialState.FAIL
    assert (
        study.best_trial.number
        == min(
            (t for t in source.trials if t.value is not None and t.state.name == "COMPLETE"),
            key=lambda t: t.value,
        ).number
    )
    lr = study.space["lr"]
    assert (lr.min_value, lr.max_value, lr.sampling) == (1e-4, 1e-1, "log")
    assert study.space["drop"].step == 0.1 and study.space["units"].step == 32
    assert study.space["batch"].sampling == "log"
    assert list(study.space["act"].values) == ["relu", "gelu"]


def test_the_imported_study_warm_starts_a_tunelab_search(optuna_db: str, tmp_path: Path) -> None:
    target = str(tmp_path / "tunelab.db")
    import_study(optuna_db, "search", storage=target, name="continued")
    study = tunelab.load_study("continued", target, sampler="tpe")

    def tunelab_objective(trial: tunelab.Trial) -> float:
        hp = trial.hp
        hp.Choice("act", ["relu", "gelu"], ordered=False)
        lr = hp.Float("lr", 1e-4, 1e-1, sampling="log")
        hp.Float("drop", 0.0, 0.5, step=0.1)
        hp.Int("units", 32, 256, step=32)
        hp.Int("batch", 8, 128, sampling="log")
        return -math.log10(lr)

    study.optimize(tunelab_objective, n_trials=8)
    assert [t.state for t in study.trials[6:]] == [TrialState.COMPLETE] * 2


def test_the_command_imports_and_show_reads_it_back(
    optuna_db: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    target = str(tmp_path / "t.db")
    main(["import-optuna", optuna_db, "search", "--storage", target, "--name", "from-optuna"])
    err = capsys.readouterr().err
    assert "imported 6 trials into tunelab study 'from-optuna'" in err
    assert "(4 complete, 1 pruned, 1 failed)" in err
    main(["show", "from-optuna", "--storage", target])
    shown = " ".join(capsys.readouterr().out.split())  # as one line, however rich wraps it
    assert "6 trials (4 complete, 1 pruned, 1 failed, 0 running)" in shown
    assert "best hyperparameters" in shown and "units" in shown


def test_several_objectives_keep_their_names_and_directions(optuna_db: str, tmp_path: Path) -> None:
    study = import_study(optuna_db, "mo", storage=str(tmp_path / "t.db"))
    source = optuna.load_study(study_name="mo", storage=optuna_db)
    assert study.metrics == ("loss", "accuracy")
    assert [d.value for d in study.directions] == ["minimize", "maximize"]
    assert [t.values for t in study.trials] == [tuple(t.values) for t in source.trials]


def _fail(argv: list[str], capsys: pytest.CaptureFixture[str]) -> str:
    with pytest.raises(SystemExit) as caught:
        main(argv)
    assert caught.value.code != 0
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0, err
    return err


def test_a_distribution_tunelab_cannot_express_is_named_and_nothing_is_written(
    optuna_db: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    target = tmp_path / "t.db"
    err = _fail(["import-optuna", optuna_db, "mixed", "--storage", str(target)], capsys)
    assert err.startswith(
        "error: parameter 'depth': tunelab cannot express CategoricalDistribution"
    )
    assert "None" in err
    assert not target.exists()
    with pytest.raises(SearchSpaceError, match="'depth'"):
        import_study(optuna_db, "mixed", storage=str(target))


def test_a_name_with_two_distributions_is_refused(optuna_db: str, tmp_path: Path) -> None:
    with pytest.raises(SearchSpaceError, match="parameter 'x' has two distributions"):
        import_study(optuna_db, "two", storage=str(tmp_path / "t.db"))


def test_an_existing_target_is_refused_and_left_untouched(optuna_db: str, tmp_path: Path) -> None:
    target = str(tmp_path / "t.db")
    existing = tunelab.create_study("search", target, metric="loss", direction="minimize")
    existing.optimize(lambda trial: trial.hp.Float("a", 0, 1), n_trials=2)
    with pytest.raises(StudyConflictError, match="'search' exists already; import under"):
        import_study(optuna_db, "search", storage=target)
    after = tunelab.load_study("search", target)
    assert len(after.trials) == 2 and after.metric == "loss"


def test_a_missing_study_or_file_is_one_line_and_creates_nothing(
    optuna_db: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    target = tmp_path / "t.db"
    err = _fail(["import-optuna", optuna_db, "nope", "--storage", str(target)], capsys)
    assert err == (
        f"error: no Optuna study named 'nope' in {optuna_db}; studies there: search, mixed, two, mo"
    )
    missing = tmp_path / "missing.db"
    with pytest.raises(StudyNotFoundError, match="no Optuna database at"):
        import_study(f"sqlite:///{missing}", "search", storage=str(target))
    assert not missing.exists() and not target.exists()
    err = _fail(["import-optuna", str(missing), "search", "--storage", str(target)], capsys)
    assert (
        err
        == f"error: {str(missing)!r} is not a database URL; give an Optuna SQLite file as sqlite:///{missing}"
    )


def test_a_database_that_is_not_optunas_is_refused_and_left_as_it_was(tmp_path: Path) -> None:
    ours = tmp_path / "tunelab.db"
    tunelab.create_study("mine", str(ours)).optimize(lambda t: t.hp.Float("a", 0, 1), n_trials=1)
    tables_before = _tables(ours)
    with pytest.raises(ConfigurationError, match=r"is not an Optuna database \("):
        import_study(f"sqlite:///{ours}", "mine", storage=str(tmp_path / "t.db"))
    assert _tables(ours) == tables_before  # Optuna did not add its tables
    assert not (tmp_path / "t.db").exists()


def _tables(path: Path) -> set[str]:
    with sqlite3.connect(path) as conn:
        return {row[0] for row in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}


def test_without_optuna_the_import_names_the_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in [
        m for m in sys.modules if m == "tunelab.optuna" or m.startswith("tunelab.optuna.")
    ]:
        monkeypatch.delitem(sys.modules, name)
    monkeypatch.setitem(sys.modules, "optuna", None)
    with pytest.raises(ImportError) as caught:
        import tunelab.optuna  # noqa: F401
    assert str(caught.value) == (
        "tunelab.optuna needs optuna, which is not installed: pip install 'tunelab[optuna]'"
    )
