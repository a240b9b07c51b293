"""HttpProbe as the users' probe of a real staging endpoint: every address in turn, write requests with a body,
headers that never leak, explicit redirect handling. Against a real HTTP server on 127.0.0.1."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from zerospof.monitors import HttpProbe, ProbeFailed


class Recording(ThreadingHTTPServer):
    daemon_threads = True
    seen: list[dict]
    routes: dict[str, tuple[int, dict[str, str]]]


class Handler(BaseHTTPRequestHandler):
    server: Recording

    def _answer(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        self.server.seen.append({"method": self.command, "path": self.path, "body": self.rfile.read(length),
                                 "headers": dict(self.headers)})
        status, headers = self.server.routes.get(self.path, (200, {}))
        payload = json.dumps({"path": self.path}).encode()
        self.send_response(status)
        for key, value in headers.items():
            self.send_header(key, value)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    do_GET = do_POST = _answer  # noqa: N815 - BaseHTTPRequestHandler's names

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def server() -> Iterator[Recording]:
    httpd = Recording(("127.0.0.1", 0), Handler)
    httpd.seen, httpd.routes = [], {}
    thread = threading.Thread(target=httpd.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    yield httpd
    httpd.shutdown()
    httpd.server_close()


def url(server: Recording, path: str = "/healthz") -> str:
    return f"http://app.test:{server.server_address[1]}{path}"


def test_every_resolved_address_is_tried_in_turn_until_one_connects(server):
    answer = HttpProbe(url(server), resolve=lambda host: ["127.0.0.2", "127.0.0.1"])()  # nothing listens on .2
    assert answer["status"] == 200 and answer["address"] == "127.0.0.1"
    assert [entry.split(":")[0] for entry in answer["tried"]] == ["127.0.0.2"]


def test_no_address_connecting_fails_naming_each(server):
    port = server.server_address[1]
    with pytest.raises(ConnectionError, match="127.0.0.2.*127.0.0.3"):
        HttpProbe(f"http://app.test:{port}/", resolve=lambda host: ["127.0.0.2", "127.0.0.3"])()


def test_a_write_probe_posts_its_body_with_the_headers_which_never_appear_in_the_result(server):
    secret = "Bearer s3cr3t-token"
    probe = HttpProbe(url(server, "/orders"), resolve=lambda host: ["127.0.0.1"], method="POST",
                      body=b'{"canary": 1}', headers={"Authorization": secret, "Content-Type": "application/json"})
    answer = probe()
    [request] = server.seen
    assert request["method"] == "POST" and request["body"] == b'{"canary": 1}'
    assert request["headers"]["Authorization"] == secret and request["headers"]["Host"] == "app.test"
    assert secret not in json.dumps(answer) and secret not in repr(probe)
    server.routes["/orders"] = (403, {})
    with pytest.raises(ProbeFailed) as failure:
        probe()
    assert secret not in str(failure.value)


@pytest.mark.parametrize(("redirects", "expected"), [("accept", 302), ("follow", 200)])
def test_a_redirect_is_an_answer_or_is_followed_as_configured(server, redirects, expected):
    server.routes["/old"] = (302, {"Location": "/new"})
    answer = HttpProbe(url(server, "/old"), resolve=lambda host: ["127.0.0.1"], redirects=redirects)()
    assert answer["status"] == expected
    assert [r["path"] for r in server.seen] == (["/old", "/new"] if redirects == "follow" else ["/old"])


def test_a_redirect_can_be_a_failure(server):
    server.routes["/old"] = (301, {"Location": "/new"})
    with pytest.raises(ProbeFailed, match="redirect"):
        HttpProbe(url(server, "/old"), resolve=lambda host: ["127.0.0.1"], redirects="fail")()


def test_a_307_keeps_the_method_and_body_and_a_303_becomes_a_get(server):
    server.routes["/a"] = (307, {"Location": "/b"})
    server.routes["/c"] = (303, {"Location": "/d"})
    for path in ("/a", "/c"):
        HttpProbe(url(server, path), resolve=lambda host: ["127.0.0.1"], method="POST", body=b"x", redirects="follow")()
    assert [(r["path"], r["method"], r["body"]) for r in server.seen] == [
        ("/a", "POST", b"x"), ("/b", "POST", b"x"), ("/c", "POST", b"x"), ("/d", "GET", b"")]


