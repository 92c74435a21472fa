"""The dashboard's HTTP API against a real SQLite file (browser test: test_browser.py)."""

from __future__ import annotations

import json
import socket
import threading
import urllib.error
import urllib.request
from collections.abc import Iterator

import pytest

import tunelab
from tunelab.report.dashboard import DashboardApp, DashboardError, make_server


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


def get(url: str, method: str = "GET", host: str | None = None) -> tuple[int, dict]:
    request = urllib.request.Request(url, method=method, headers={"Host": host} if host else {})
    try:
        with urllib.request.urlopen(request, timeout=30) as r:
            return r.status, json.loads(r.read())
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read())


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
