"""Render the HAProxy sections of the API load balancer in front of the API replicas.

The health-check and retry settings are the lab's measured ones (``inter 500ms fastinter 250ms
fall 2 rise 2``, ``timeout connect 150ms``, ``retries 3``, ``option redispatch 1``,
``retry-on conn-failure empty-response response-timeout 503``), repeated in the backend so the
snippet does not depend on the ``defaults`` section it is appended after.
"""

from __future__ import annotations

__all__ = ["api_lb_config"]


def api_lb_config(bind: str, replicas: list[tuple[str, str]], *, name: str = "api") -> str:
    """Return ``frontend``/``backend`` sections named ``name`` binding ``bind`` (``ADDR:PORT``).

    ``replicas`` is ``[(server name, "ADDR:PORT"), ...]``; each is checked with ``GET /health``
    (200 only while its etcd answers a linearizable read).
    """
    if not replicas:
        raise ValueError("the API load balancer needs at least one replica")
    servers = "".join(f"    server {server} {address} check\n" for server, address in replicas)
    return f"""\
frontend {name}
    mode http
    option http-buffer-request
    timeout client 30s
    bind {bind}
    default_backend {name}

backend {name}
    mode http
    timeout connect 150ms
    timeout server 5s
    timeout check 400ms
    retries 3
    option redispatch 1
    retry-on conn-failure empty-response response-timeout 503
    option httpchk GET /health
    http-check expect status 200
    default-server inter 500ms fastinter 250ms downinter 500ms fall 2 rise 2
{servers}"""
