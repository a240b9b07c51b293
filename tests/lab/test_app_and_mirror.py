"""The app's revision contract and the mirror's two-way sync, without the lab (no root needed)."""

from __future__ import annotations

import json
import socket
import threading
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from zerospof.lab.app import App, make_handler
from zerospof.lab.http_lite import JsonServer, request_json
from zerospof.lab.gitops.mirror import sync_once
from zerospof.lab.gitops.repo import git, init_repository, render_desired


@pytest.fixture
def app() -> App:
    return App("r1-a", ["127.0.0.1"], 1, 1)


@pytest.fixture
def app_url(app: App) -> Iterator[str]:
    server = JsonServer(("127.0.0.1", 0), make_handler(app))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def _call(method: str, url: str, body: object = None) -> tuple[int, dict]:
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(url, data=data, method=method, headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=5) as response:
            return response.status, json.load(response)
    except urllib.error.HTTPError as exc:
        return exc.code, json.load(exc)


def test_a_fresh_replica_serves_no_revision_until_one_is_applied(app_url: str) -> None:
    status, body = _call("GET", f"{app_url}/revision")
    assert status == 200
    assert body == {"zone": "r1-a", "revision": "none", "commit": None, "applied_by": None, "applied_at": None}
    assert _call("GET", f"{app_url}/health")[1]["revision"] == "none"


def test_a_deployed_revision_is_served_and_health_carries_it(app: App, app_url: str) -> None:
    body = app.deploy({"revision": "v2", "commit": "abc", "applied_by": "gitops-primary"})
    assert (body["revision"], body["commit"], body["applied_by"]) == ("v2", "abc", "gitops-primary")
    assert isinstance(body["applied_at"], float)
    assert _call("GET", f"{app_url}/revision")[1] == {"zone": "r1-a", **body}
    assert _call("GET", f"{app_url}/health")[1]["revision"] == "v2"


def test_the_revision_cannot_be_set_over_http_only_gitops_sets_it(app_url: str) -> None:
    assert _call("PUT", f"{app_url}/revision", {"revision": "v9"})[0] == 404
    assert _call("GET", f"{app_url}/revision")[1]["revision"] == "none"


@pytest.mark.parametrize("body", [{}, {"revision": ""}, {"revision": "x" * 129}, {"revision": 7}, ["v1"],
                                  {"revision": "v1", "commit": 5}])
def test_an_invalid_revision_is_refused_and_changes_nothing(app: App, app_url: str, body: object) -> None:
    with pytest.raises(ValueError):
        app.deploy(body)
    assert _call("GET", f"{app_url}/revision")[1]["revision"] == "none"


def test_the_lite_client_and_server_speak_json_to_each_other_and_to_urllib(app: App, app_url: str) -> None:
    app.deploy({"revision": "v3"})
    assert request_json("GET", f"{app_url}/revision")[1]["revision"] == "v3"
    assert request_json("GET", f"{app_url}/health") == (200, {"zone": "r1-a", "region": "r1", "revision": "v3",
                                                              "security": None})  # no key/secret service here
    assert request_json("GET", f"{app_url}/nothing-here")[0] == 404
    assert request_json("DELETE", f"{app_url}/revision")[0] == 404


def test_the_lite_server_survives_garbage_and_a_silent_client(app_url: str) -> None:
    host, port = app_url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=2) as garbage:
        garbage.sendall(b"NOT HTTP AT ALL\r\n\r\n")
        assert garbage.recv(100) == b""  # closed without an answer
    silent = socket.create_connection((host, int(port)), timeout=2)
    try:
        assert request_json("GET", f"{app_url}/health", timeout_s=2)[0] == 200
    finally:
        silent.close()


def test_the_lite_client_gives_up_within_its_timeout() -> None:
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(1)  # accepts the connection, never answers
    try:
        with pytest.raises(OSError):
            request_json("GET", f"http://127.0.0.1:{listener.getsockname()[1]}/health", timeout_s=0.3)
    finally:
        listener.close()


def _commit(repo: Path, revision: str, branch: str = "main") -> str:
    parent = git("rev-parse", branch, cwd=repo).strip()
    blob = git("hash-object", "-w", "--stdin", cwd=repo, input_text=render_desired(revision)).strip()
    tree = git("mktree", cwd=repo, input_text=f"100644 blob {blob}\tapp.yaml\n").strip()
    commit = git("commit-tree", tree, "-p", parent, "-m", revision, cwd=repo).strip()
    git("update-ref", f"refs/heads/{branch}", commit, cwd=repo)
    return commit


def _heads(repo: Path) -> dict[str, str]:
    text = git("for-each-ref", "--format=%(refname) %(objectname)", "refs/heads/", cwd=repo)
    return dict(line.split() for line in text.splitlines())


def test_the_mirror_takes_the_primarys_commits_and_gives_back_what_users_pushed_to_it(tmp_path: Path) -> None:
    primary, mirror = tmp_path / "primary.git", tmp_path / "mirror.git"
    init_repository(primary, "v0")
    source = f"file://{primary}"
    first = sync_once(source, mirror, 10)
    assert first.updated == ["main"] and _heads(mirror) == _heads(primary)
    pushed_during_outage = _commit(mirror, "v1")
    git("update-ref", "refs/heads/zerospof-canary/run/0", pushed_during_outage, cwd=mirror)
    back = sync_once(source, mirror, 10)
    assert sorted(back.pushed_back) == ["main", "zerospof-canary/run/0"]
    assert _heads(primary) == _heads(mirror) and _heads(primary)["refs/heads/main"] == pushed_during_outage
    newer = _commit(primary, "v2")
    assert sync_once(source, mirror, 10).commit == newer


def test_diverged_branches_are_reported_and_neither_side_is_overwritten(tmp_path: Path) -> None:
    primary, mirror = tmp_path / "primary.git", tmp_path / "mirror.git"
    init_repository(primary, "v0")
    sync_once(f"file://{primary}", mirror, 10)
    ours, theirs = _commit(mirror, "mirror-only"), _commit(primary, "primary-only")
    result = sync_once(f"file://{primary}", mirror, 10)
    assert result.conflicts == ["main"] and not result.pushed_back and not result.updated
    assert _heads(mirror)["refs/heads/main"] == ours and _heads(primary)["refs/heads/main"] == theirs


def test_ls_remote_reads_what_git_itself_reads_from_a_git_daemon(tmp_path: Path) -> None:
    import subprocess
    import time

    from zerospof.lab.gitops.repo import GitError, daemon_argv, ls_remote

    commit = init_repository(tmp_path / "platform.git", "v0")
    git("update-ref", "refs/heads/zerospof-canary/run/7", commit, cwd=tmp_path / "platform.git")
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    daemon = subprocess.Popen(daemon_argv(tmp_path, "127.0.0.1", port, receive_pack=False),
                              stderr=subprocess.DEVNULL)
    url = f"git://127.0.0.1:{port}/platform.git"
    try:
        for _ in range(100):
            try:
                refs = ls_remote(url)
                break
            except GitError:
                time.sleep(0.05)
        expected = dict(reversed(line.split("\t")) for line in git("ls-remote", url).splitlines())
        assert refs == expected and refs["refs/heads/main"] == commit
        with pytest.raises(GitError, match="no such repository"):
            ls_remote(f"git://127.0.0.1:{port}/missing.git")
    finally:
        daemon.kill()
        daemon.wait()
    with pytest.raises(GitError):
        ls_remote(url, timeout_s=0.5)
