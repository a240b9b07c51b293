"""The lab's small Kubernetes API client on loopback: an answer cut off mid-body is a server that did not answer."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from zerospof.lab.kube.api import KubeApi, KubeUnavailable
from zerospof.lab.kube.pki import write_pki

BODY = b'{"kind": "PodList", "items": []}'


@contextmanager
def one_shot_server(answer: bytes) -> Iterator[str]:
    """A loopback HTTP server that answers each connection with the raw bytes ``answer``, then closes it."""
    listener = socket.create_server(("127.0.0.1", 0))
    listener.settimeout(0.1)
    stop = threading.Event()

    def serve() -> None:
        while not stop.is_set():
            try:
                connection, _ = listener.accept()
            except TimeoutError:
                continue
            with connection:
                connection.settimeout(2)
                request = b""
                while b"\r\n\r\n" not in request:
                    chunk = connection.recv(4096)
                    if not chunk:
                        break
                    request += chunk
                connection.sendall(answer)

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{listener.getsockname()[1]}"
    finally:
        stop.set()
        thread.join(2)
        listener.close()


CUT = (b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n"
       + b"1000\r\n" + b"x" * 2048)  # a 4096-byte chunk announced, 2048 sent, then the connection closes
WHOLE = (b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: " + str(len(BODY)).encode()
         + b"\r\nConnection: close\r\n\r\n" + BODY)


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    return write_pki(tmp_path_factory.mktemp("pki"), ["127.0.0.1"], [("node", "system:node:n", ("system:nodes",))])


def client(pki: dict[str, Path], servers: list[str]) -> KubeApi:
    return KubeApi(servers, pki["ca"], pki["node"], pki["node_key"], timeout_s=2.0)


def test_an_answer_cut_off_mid_body_goes_to_the_next_server(pki):
    with one_shot_server(CUT) as cut, one_shot_server(WHOLE) as whole:
        status, found = client(pki, [cut, whole]).call("GET", "/api/v1/pods")
    assert (status, found) == (200, {"kind": "PodList", "items": []})


def test_only_cut_off_answers_is_kube_unavailable_naming_the_cut(pki):
    with one_shot_server(CUT) as cut:
        with pytest.raises(KubeUnavailable, match="IncompleteRead"):
            client(pki, [cut]).call("GET", "/api/v1/pods")
