"""The dashboard's HTTP API against a real SQLite file (browser test: test_browser.py)."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import threading
import urllib.error
import urllib.request
from collections.abc import Iterator

import pytest

import tunelab
from tunelab.report.dashboard import DashboardApp, DashboardError, make_server
from tunelab.report.lost import lost_trials
from tunelab.types import TrialState


@pytest.fixture
def served(make_study) -> Iterator[tuple[str, tunelab.Study]]:
    study = make_study(6)
    server = make_server(
        DashboardApp(tunelab.get_storage(study.storage.url, create_schema=False)), port=0
    )
    thread = threading.Thread(
        target=server.serve_forever, kwargs={"poll_interval": 0.1}, daemon=True
    )
    thread.start()
    try:
        yield server.url, study
    finally:
        server.shutdown()
        server.server_close()


def fetch(url: str, method: str = "GET", host: str | None = None) -> tuple[int, dict, bytes]:
    """(status, headers, body) of one request."""
    request = urllib.request.Request(url, method=method, headers={"Host": host} if host else {})
    try:
        with urllib.request.urlopen(request, timeout=30) as r:
            return r.status, dict(r.headers), r.read()
    except urllib.error.HTTPError as e:
        return e.code, dict(e.headers), e.read()


def get(url: str, method: str = "GET", host: str | None = None) -> tuple[int, dict]:
    status, _, body = fetch(url, method, host)
    return status, json.loads(body)


def test_lists_studies_and_serves_their_sections(served):
    url, study = served
    status, studies = get(url + "api/studies")
    assert status == 200
    assert [s["name"] for s in studies] == ["demo"]
    assert studies[0]["trials"] == 6 and studies[0]["best"] == study.best_value
    status, payload = get(url + "api/study?name=demo")
    assert status == 200
    ids = [s["id"] for s in payload["sections"]]
    assert ids[:3] == ["overview", "best", "history"] and ids[-1] == "trials"
    figures = {f["id"] for s in payload["sections"] for f in s["figures"]}
    assert {"fig-history", "fig-curves", "fig-parallel", "fig-slice"} <= figures


def test_answers_unchanged_until_a_trial_moves_on(served, add_trial):
    url, study = served
    _, first = get(url + "api/study?name=demo")
    _, again = get(url + f"api/study?name=demo&since={first['version']}")
    assert again == {"name": "demo", "version": first["version"], "unchanged": True}
    add_trial(study, 100)
    _, after = get(url + f"api/study?name=demo&since={first['version']}")
    assert after["version"] != first["version"] and "sections" in after
    assert after["sections"][-1]["title"] == "All trials (7)"


def test_is_read_only(served):
    url, study = served
    before = len(study.trials)
    for method in ("POST", "PUT", "DELETE", "PATCH"):
        status, body = get(url + "api/study?name=demo", method)
        assert status == 405 and "read-only" in body["error"]
    assert len(study.trials) == before


def test_unknown_study_and_foreign_host(served):
    url, _ = served
    status, body = get(url + "api/study?name=nope")
    assert status == 404 and "no study named 'nope'" in body["error"]
    status, _ = get(url + "api/studies", host="attacker.example:80")
    assert status == 403


def test_a_study_request_without_a_name_is_the_clients_mistake(served):
    url, _ = served
    for query in ("", "?name=", "?name=%20", "?since=abc"):
        status, body = get(url + "api/study" + query)
        assert status == 400, query
        assert body["error"] == "name the study: /api/study?name=NAME (/api/studies lists them)"


def test_every_answer_carries_a_policy_that_runs_only_the_dashboards_own_scripts(served):
    url, _ = served
    status, headers, page = fetch(url)
    assert status == 200
    policy = headers["Content-Security-Policy"]
    directives = dict(d.strip().split(" ", 1) for d in policy.split(";"))
    assert directives["default-src"] == "'none'"
    assert directives["script-src"] == "'self' 'unsafe-eval'"  # no inline script
    assert directives["connect-src"] == "'self'"
    assert directives["frame-ancestors"] == "'none'"
    scripts = page.decode().split("<script")[1:]
    assert scripts and all(s.startswith(' src="static/') for s in scripts)  # nothing inline
    status, headers, code = fetch(url + "static/dashboard.js")
    assert status == 200 and headers["Content-Type"].startswith("application/javascript")
    assert b"api/studies" in code
    for path in ("api/studies", "api/study?name=demo", "api/study?name=nope", "nowhere"):
        assert fetch(url + path)[1]["Content-Security-Policy"] == policy


DIE_WITH_A_RUNNING_TRIAL = """
import os, sys, tunelab
study = tunelab.load_study("demo", sys.argv[1])
trial = study.ask()
trial.hp.Float("learning_rate", 1e-4, 1e-1, sampling="log")
os._exit(0)  # the worker dies: no tell, no heartbeat ever again
"""


def test_a_running_trial_whose_worker_died_shows_as_lost_and_stays_stored_as_running(served):
    url, study = served
    subprocess.run([sys.executable, "-c", DIE_WITH_A_RUNNING_TRIAL, study.storage.url], check=True)
    (orphan,) = study.get_trials([TrialState.RUNNING])
    _, payload = get(url + "api/study?name=demo")
    assert payload["counts"]["lost"] == 1 and payload["counts"]["running"] == 0
    rows = payload["sections"][-1]["html"].split("<tr")
    row = next(r for r in rows if f">{orphan.number}</td>" in r)
    assert ">lost</td>" in row
    assert "1 lost" in payload["sections"][0]["html"]  # the overview's counts
    _, studies = get(url + "api/studies")
    assert studies[0]["counts"]["lost"] == 1 and studies[0]["counts"]["running"] == 0
    assert [t.trial_id for t in study.get_trials([TrialState.RUNNING])] == [orphan.trial_id]


def test_a_running_trial_is_lost_once_its_heartbeat_is_older_than_the_grace(tmp_path):
    study = tunelab.create_study("beat", storage=str(tmp_path / "t.db"), heartbeat_interval=2.0)
    trial = study.ask()  # this process is alive: only the heartbeat can tell
    (running,) = study.get_trials([TrialState.RUNNING])
    beat = running.heartbeat or running.datetime_start
    assert beat is not None
    settings = study.settings  # grace: 4 heartbeats, 8 s
    assert lost_trials([running], settings, now=beat + 7.9) == frozenset()
    assert lost_trials([running], settings, now=beat + 8.1) == {running.trial_id}
    assert lost_trials([running], {**settings, "heartbeat_grace": 30}, now=beat + 9) == frozenset()
    study.tell(trial, 0.5)
    assert lost_trials(study.trials, settings, now=beat + 1e6) == frozenset()  # finished


NO_PLOTLY = "import sys; sys.modules['plotly'] = None; from tunelab.cli.main import main; main()"


def test_without_plotly_the_dashboard_refuses_to_start_with_the_install_hint(tmp_path):
    tunelab.create_study("s", storage=str(tmp_path / "t.db")).storage.close()
    for args in (
        ["dashboard", "--storage", str(tmp_path / "t.db"), "--port", "0"],
        ["report", "s", "--storage", str(tmp_path / "t.db"), "-o", str(tmp_path / "r.html")],
    ):
        proc = subprocess.run(
            [sys.executable, "-c", NO_PLOTLY, *args], capture_output=True, text=True, timeout=60
        )
        assert proc.returncode == 1, args
        assert proc.stderr.splitlines() == [
            "error: reports and the dashboard need plotly: pip install 'tunelab[report]'"
        ]
        assert proc.stdout == ""  # never listened
    assert not (tmp_path / "r.html").exists()


def test_port_in_use_is_one_clear_line(tmp_path, capsys):
    from tunelab.cli.main import main

    tunelab.create_study("s", storage=str(tmp_path / "t.db"))
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        port = holder.getsockname()[1]
        with pytest.raises(DashboardError, match=f"port {port} on 127.0.0.1 is already in use"):
            make_server(DashboardApp(tunelab.get_storage(str(tmp_path / "t.db"))), port=port)
        with pytest.raises(SystemExit) as exit_info:
            main(["dashboard", "--storage", str(tmp_path / "t.db"), "--port", str(port)])
    assert exit_info.value.code == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert err == [
        f"error: port {port} on 127.0.0.1 is already in use; pick another with --port "
        f"(e.g. --port {port + 1})"
    ]


def test_missing_database_is_one_clear_line(tmp_path, capsys):
    from tunelab.cli.main import main

    with pytest.raises(SystemExit) as exit_info:
        main(["dashboard", "--storage", str(tmp_path / "none.db"), "--port", "0"])
    assert exit_info.value.code == 1
    assert capsys.readouterr().err.startswith("error: no database at")
    assert not (tmp_path / "none.db").exists()


def test_serves_a_page_per_trial_and_the_extra_plots(served):
    url, _ = served
    _, payload = get(url + "api/study?name=demo")
    ids = [s["id"] for s in payload["sections"]]
    assert ids.index("history") < ids.index("edf") < ids.index("timeline") < ids.index("curves")
    assert "rank" in ids
    status, page = get(url + "api/trial?name=demo&number=5")  # the synthetic failure
    assert status == 200 and page["trial"] == 5
    first = page["sections"][0]
    assert first["title"] == "Trial #5" and "synthetic failure" in first["html"]
    assert 'href="#study=demo"' in first["html"]
    status, page = get(url + "api/trial?name=demo&number=0")
    assert [f["id"] for s in page["sections"] for f in s["figures"]] == ["fig-trial-curves"]
    assert get(url + "api/trial?name=demo&number=99") == (
        404,
        {"error": "study 'demo' has no trial #99; its trials are #0 to #5"},
    )
    status, answer = get(url + "api/trial?name=demo&number=x")
    assert status == 400 and "number=N" in answer["error"]
